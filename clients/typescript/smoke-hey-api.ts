// Smoke test of the SDK that @hey-api/openapi-ts generates from the contract with its defaults
// (build/sdks/hey-api, by .ci/sdk-matrix): register, token, create, list a page, merge-patch with
// If-Match, the stale retry as a typed Problem, toggle, delete. Usage: node <compiled> BASE_URL
import { createClient } from '../../build/sdks/hey-api/client';
import {
  createTask,
  createToken,
  deleteTask,
  listTasks,
  registerUser,
  toggleTaskCompletion,
  updateTask,
  type Problem,
  type Task,
} from '../../build/sdks/hey-api';
import { check, uniqueEmail } from './smoke-support';

export async function smoke(baseUrl: string): Promise<void> {
  const anonymous = createClient({ baseUrl });
  const account = { email: uniqueEmail(), password: 'correct horse battery' };
  const { data: user } = await registerUser({ client: anonymous, body: { ...account, name: 'Smoke' }, throwOnError: true });
  const { data: token } = await createToken({ client: anonymous, body: account, throwOnError: true });
  const api = createClient({ baseUrl, auth: token.access_token });
  const path = { user_id: user.id };

  const { data: task } = await createTask({
    client: api,
    path,
    body: { title: 'Buy milk' },
    headers: { 'Idempotency-Key': crypto.randomUUID() },
    throwOnError: true,
  });
  const { data: page } = await listTasks({ client: api, path, query: { limit: 10 }, throwOnError: true });
  check(page.items.some((listed: Task) => listed.id === task.id), 'the created task is listed');

  const taskPath = { ...path, task_id: task.id };
  const { data: updated } = await updateTask({
    client: api, path: taskPath, body: { priority: 'high' }, headers: { 'If-Match': task.etag }, throwOnError: true,
  });
  check(updated.priority === 'high', 'the patch applied');
  const stale = await updateTask({ client: api, path: taskPath, body: { priority: 'low' }, headers: { 'If-Match': task.etag } });
  const problem: Problem | undefined = stale.error;
  check(problem?.status === 412 && problem.type === '/problems/precondition-failed', 'a stale ETag is a typed 412 Problem');

  const { data: toggled } = await toggleTaskCompletion({ client: api, path: taskPath, headers: { 'If-Match': updated.etag }, throwOnError: true });
  check(toggled.completed, 'the toggle completed the task');
  const deleted = await deleteTask({ client: api, path: taskPath, headers: { 'If-Match': toggled.etag }, throwOnError: true });
  check(deleted.response.status === 204, 'the task was deleted');
}

if (require.main === module) {
  const baseUrl = process.argv[2] ?? 'http://127.0.0.1:8000';
  smoke(baseUrl).then(
    () => console.log(`@hey-api/openapi-ts SDK: every step passed against ${baseUrl}`),
    (error: unknown) => { console.error(error); process.exit(1); },
  );
}
