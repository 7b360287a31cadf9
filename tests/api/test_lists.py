"""GET/POST /api/{user_id}/lists and GET/PATCH/DELETE /api/{user_id}/lists/{list_id}"""

from __future__ import annotations

import uuid

from tests.api.helpers import (
    ApiClient,
    assert_problem,
    create_list,
    create_task,
    list_url,
    lists_url,
    task_url,
    tasks_url,
)

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def default_list(client: ApiClient) -> dict[str, object]:
    items = client.get(lists_url()).json()["items"]
    return next(item for item in items if item["is_default"])


class TestListLists200:
    def test_a_new_user_has_exactly_the_default_list(self, client: ApiClient) -> None:
        response = client.get(lists_url())

        assert response.status_code == 200
        body = response.json()
        assert body["next_cursor"] is None
        [only] = body["items"]
        assert only == {
            "id": only["id"],
            "user_id": "alice",
            "name": "Tasks",
            "is_default": True,
            "created_at": only["created_at"],
            "updated_at": only["created_at"],
            "etag": '"1"',
        }

    def test_pages_in_creation_order_with_signed_cursors(self, client: ApiClient) -> None:
        names = [create_list(client, name=f"list {n}")["name"] for n in range(5)]

        seen: list[str] = []
        url = f"{lists_url()}?limit=2"
        while url:
            response = client.get(url)
            assert response.status_code == 200
            body = response.json()
            seen += [item["name"] for item in body["items"]]
            url = response.links["next"]["url"] if body["next_cursor"] else ""

        assert seen == ["Tasks", *names]

    def test_only_the_owners_lists(self, client: ApiClient) -> None:
        create_list(client, "bob", name="Bob's")

        names = [item["name"] for item in client.get(lists_url()).json()["items"]]

        assert names == ["Tasks"]


class TestListLists400:
    def test_a_cursor_of_another_listing_is_refused(self, client: ApiClient) -> None:
        create_task(client)
        create_task(client)
        task_cursor = client.get(f"{tasks_url()}?limit=1").json()["next_cursor"]

        problem = assert_problem(client.get(f"{lists_url()}?cursor={task_cursor}"), 400, "validation-error")

        assert problem["errors"][0]["pointer"] == "cursor"


class TestListLists403:
    def test_another_users_path(self, client: ApiClient) -> None:
        assert_problem(client.get(lists_url("bob")), 403, "forbidden")


class TestCreateList201:
    def test_creates_with_location_and_etag(self, client: ApiClient) -> None:
        response = client.post(lists_url(), json={"name": "Groceries"})

        assert response.status_code == 201
        body = response.json()
        assert response.headers["location"] == f"/api/alice/lists/{body['id']}"
        assert response.headers["etag"] == body["etag"] == '"1"'
        assert body["name"] == "Groceries"
        assert body["is_default"] is False

    def test_an_idempotency_key_replays_the_first_response(self, client: ApiClient) -> None:
        headers = {"Idempotency-Key": str(uuid.uuid4())}

        first = client.post(lists_url(), json={"name": "Groceries"}, headers=headers)
        again = client.post(lists_url(), json={"name": "Groceries"}, headers=headers)

        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["idempotency-replayed"] == "true"
        assert len(client.get(lists_url()).json()["items"]) == 2


class TestCreateList400:
    def test_a_blank_name(self, client: ApiClient) -> None:
        problem = assert_problem(client.post(lists_url(), json={"name": "  "}), 400, "validation-error")

        assert problem["errors"][0]["pointer"] == "/name"

    def test_read_only_fields(self, client: ApiClient) -> None:
        response = client.post(lists_url(), json={"name": "x", "is_default": True})

        assert_problem(response, 400, "validation-error")


class TestCreateList422:
    def test_a_key_reused_with_another_body(self, client: ApiClient) -> None:
        headers = {"Idempotency-Key": "list-key"}
        client.post(lists_url(), json={"name": "Groceries"}, headers=headers)

        response = client.post(lists_url(), json={"name": "Chores"}, headers=headers)

        assert_problem(response, 422, "idempotency-key-reused")


class TestGetList200:
    def test_returns_the_list_with_its_etag(self, client: ApiClient) -> None:
        created = create_list(client)

        response = client.get(list_url(created["id"]))

        assert response.status_code == 200
        assert response.json() == created
        assert response.headers["etag"] == '"1"'


class TestGetList304:
    def test_if_none_match_with_the_current_etag(self, client: ApiClient) -> None:
        created = create_list(client)

        response = client.get(list_url(created["id"]), headers={"If-None-Match": created["etag"]})

        assert response.status_code == 304
        assert response.headers["etag"] == created["etag"]


class TestGetList404:
    def test_another_users_list_looks_missing(self, client: ApiClient) -> None:
        theirs = create_list(client, "bob")

        problem = assert_problem(client.get(list_url(theirs["id"])), 404, "not-found")

        assert problem["detail"] == f"No list {theirs['id']}."


class TestUpdateList200:
    def test_renames_and_moves_the_version(self, client: ApiClient) -> None:
        created = create_list(client)

        response = client.patch(
            list_url(created["id"]),
            json={"name": "Weekly shop"},
            headers={**MERGE_PATCH, "If-Match": created["etag"]},
        )

        assert response.status_code == 200
        assert response.json()["name"] == "Weekly shop"
        assert response.headers["etag"] == response.json()["etag"] == '"2"'

    def test_the_default_list_can_be_renamed(self, client: ApiClient) -> None:
        default = default_list(client)

        response = client.patch(list_url(str(default["id"])), json={"name": "Inbox"}, headers=MERGE_PATCH)

        assert response.status_code == 200
        assert response.json()["is_default"] is True


class TestUpdateList412:
    def test_a_stale_etag(self, client: ApiClient) -> None:
        created = create_list(client)
        client.patch(list_url(created["id"]), json={"name": "Newer"}, headers=MERGE_PATCH)

        response = client.patch(
            list_url(created["id"]), json={"name": "Stale"}, headers={**MERGE_PATCH, "If-Match": '"1"'}
        )

        assert_problem(response, 412, "precondition-failed")
        assert client.get(list_url(created["id"])).json()["name"] == "Newer"


class TestUpdateList404:
    def test_another_users_list(self, client: ApiClient) -> None:
        theirs = create_list(client, "bob")

        response = client.patch(list_url(theirs["id"]), json={"name": "Mine now"}, headers=MERGE_PATCH)

        assert_problem(response, 404, "not-found")
        assert client.as_user("bob").get(list_url(theirs["id"], "bob")).json()["name"] == "Groceries"


class TestDeleteList204:
    def test_deletes_the_list_and_its_tasks_only(self, client: ApiClient) -> None:
        doomed = create_list(client)
        in_doomed = create_task(client, list_id=doomed["id"])
        elsewhere = create_task(client)

        response = client.delete(list_url(doomed["id"]), headers={"If-Match": doomed["etag"]})

        assert response.status_code == 204
        assert_problem(client.get(list_url(doomed["id"])), 404, "not-found")
        assert_problem(client.get(task_url(in_doomed["id"])), 404, "not-found")
        assert client.get(task_url(elsewhere["id"])).status_code == 200


class TestDeleteList409:
    def test_the_default_list_stays(self, client: ApiClient) -> None:
        default = default_list(client)
        task = create_task(client)

        response = client.delete(list_url(str(default["id"])))

        assert_problem(response, 409, "conflict")
        assert client.get(task_url(task["id"])).status_code == 200


class TestDeleteList412:
    def test_a_stale_etag_deletes_nothing(self, client: ApiClient) -> None:
        doomed = create_list(client)
        task = create_task(client, list_id=doomed["id"])

        response = client.delete(list_url(doomed["id"]), headers={"If-Match": '"7"'})

        assert_problem(response, 412, "precondition-failed")
        assert client.get(task_url(task["id"])).status_code == 200


class TestDeleteList404:
    def test_another_users_list_is_left_alone(self, client: ApiClient) -> None:
        theirs = create_list(client, "bob")

        assert_problem(client.delete(list_url(theirs["id"])), 404, "not-found")
        assert client.as_user("bob").get(list_url(theirs["id"], "bob")).status_code == 200
