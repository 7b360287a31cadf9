// Smoke test of openapi-typescript's types (build/sdks/openapi-typescript/schema.d.ts, generated
// with its defaults by .ci/sdk-matrix) driving openapi-fetch: register, token, create, list a page,
// merge-patch with If-Match, the stale retry as a typed Problem, toggle, delete.
// Usage: node <compiled> BASE_URL
import createClient from 'openapi-fetch';
import type { components, paths } from '../../build/sdks/openapi-typescript/schema';
import { check, uniqueEmail } from './smoke-support';

type Problem = components['schemas']['Problem'];
type Task = components['schemas']['Task'];

function required<T>(value: T | undefined, what: string): T {
  check(value !== undefined, what);
  return value;
}

export async function smoke(baseUrl: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl });
  const account = { email: uniqueEmail(), password: 'correct horse battery' };
  const user = required((await anonymous.POST('/api/users', { body: { ...account, name: 'Smoke' } })).data, 'registered');
  const token = required((await anonymous.POST('/api/tokens', { body: account })).data, 'a token');
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token.access_token}` } });
  const path = { user_id: user.id };

  const task: Task = required((await api.POST('/api/{user_id}/tasks', {
    params: { path, header: { 'Idempotency-Key': crypto.randomUUID() } },
    body: { title: 'Buy milk' },
  })).data, 'created');
  const page = required((await api.GET('/api/{user_id}/tasks', { params: { path, query: { limit: 10 } } })).data, 'a page');
  check(page.items.some((listed) => listed.id === task.id), 'the created task is listed');

  const taskPath = { ...path, task_id: task.id };
  const mergePatch = { 'Content-Type': 'application/merge-patch+json' };
  const updated = required((await api.PATCH('/api/{user_id}/tasks/{task_id}', {
    params: { path: taskPath, header: { 'If-Match': task.etag } }, headers: mergePatch, body: { priority: 'high' },
  })).data, 'patched');
  check(updated.priority === 'high', 'the patch applied');
  const stale = await api.PATCH('/api/{user_id}/tasks/{task_id}', {
    params: { path: taskPath, header: { 'If-Match': task.etag } }, headers: mergePatch, body: { priority: 'low' },
  });
  const problem: Problem | undefined = stale.error;
  check(problem?.status === 412 && problem.type === '/problems/precondition-failed', 'a stale ETag is a typed 412 Problem');

  const toggled = required((await api.PATCH('/api/{user_id}/tasks/{task_id}/complete', {
    params: { path: taskPath, header: { 'If-Match': updated.etag } },
  })).data, 'toggled');
  check(toggled.completed, 'the toggle completed the task');
  const deleted = await api.DELETE('/api/{user_id}/tasks/{task_id}', { params: { path: taskPath, header: { 'If-Match': toggled.etag } } });
  check(deleted.response.status === 204, 'the task was deleted');
}

if (require.main === module) {
  const baseUrl = process.argv[2] ?? 'http://127.0.0.1:8000';
  smoke(baseUrl).then(
    () => console.log(`openapi-typescript + openapi-fetch: every step passed against ${baseUrl}`),
    (error: unknown) => { console.error(error); process.exit(1); },
  );
}
