// A front end on its own origin, talking to Better Auth (sign-up, token) and to tasks-api (tasks),
// each on another origin. Open it as index.html?auth=<Better Auth URL>&api=<tasks-api URL>.
const query = new URLSearchParams(location.search);
const AUTH = query.get("auth");
const API = query.get("api");
const steps = [];

async function betterAuth(path, body) {
  const response = await fetch(`${AUTH}/api/auth${path}`, {
    method: body ? "POST" : "GET",
    credentials: "include", // Better Auth's session cookie
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function run() {
  const email = `ada.${crypto.randomUUID()}@example.com`;
  const { user } = await betterAuth("/sign-up/email", { email, password: "correct horse battery", name: "Ada" });
  const { token } = await betterAuth("/token"); // a JWT for tasks-api (the jwt() plugin)
  steps.push({ step: "sign-up and token", userId: user.id });

  const tasksApi = (path, { headers, ...init } = {}) =>
    fetch(new URL(path, API), { ...init, headers: { Authorization: `Bearer ${token}`, ...headers } });
  const json = { "Content-Type": "application/json" };

  let response = await tasksApi(`/api/${user.id}/tasks`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ title: "Buy milk", priority: "high" }),
  });
  const taskUrl = response.headers.get("Location"); // e.g. /api/<user id>/tasks/<task id>
  let etag = response.headers.get("ETag");
  steps.push({ step: "create", status: response.status, location: taskUrl, etag, task: await response.json() });

  response = await tasksApi(`/api/${user.id}/tasks?limit=10`);
  const page = await response.json();
  steps.push({ step: "list", status: response.status, titles: page.items.map((task) => task.title) });

  response = await tasksApi(taskUrl, {
    method: "PATCH",
    headers: { "Content-Type": "application/merge-patch+json", "If-Match": etag },
    body: JSON.stringify({ title: "Buy oat milk", description: "2 litres" }),
  });
  const patched = await response.json();
  steps.push({ step: "merge-patch", status: response.status, etag: response.headers.get("ETag"), title: patched.title });

  response = await tasksApi(taskUrl, {
    method: "PATCH",
    headers: { "Content-Type": "application/merge-patch+json", "If-Match": etag }, // stale now
    body: JSON.stringify({ priority: "low" }),
  });
  steps.push({ step: "stale merge-patch", status: response.status, type: (await response.json()).type });
  etag = patched.etag;

  response = await tasksApi(`${taskUrl}/complete`, { method: "PATCH", headers: { "If-Match": etag } });
  const toggled = await response.json();
  steps.push({ step: "toggle", status: response.status, completed: toggled.completed, requestId: response.headers.get("X-Request-ID") });

  response = await tasksApi(taskUrl, { method: "DELETE", headers: { "If-Match": response.headers.get("ETag") } });
  steps.push({ step: "delete", status: response.status });

  response = await tasksApi(taskUrl);
  steps.push({ step: "get after delete", status: response.status });
}

function report(error) {
  const outcome = { ok: !error, error: error ? String(error) : null, steps };
  document.getElementById("outcome").textContent = JSON.stringify(outcome, null, 2);
}

run().then(() => report(null), report);
