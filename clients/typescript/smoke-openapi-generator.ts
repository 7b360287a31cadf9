// Smoke test of the SDK that OpenAPI Generator's `typescript-fetch` generator makes from the
// contract with its defaults (build/sdks/openapi-generator-typescript-fetch, by .ci/sdk-matrix):
// register, token, create, list a page, merge-patch with If-Match, the stale retry parsed as a
// typed Problem, toggle, delete. Usage: node <compiled> BASE_URL
import {
  AccountsApi,
  Configuration,
  ProblemFromJSON,
  ResponseError,
  TasksApi,
  type Problem,
} from '../../build/sdks/openapi-generator-typescript-fetch';
import { check, uniqueEmail } from './smoke-support';

export async function smoke(baseUrl: string): Promise<void> {
  const accounts = new AccountsApi(new Configuration({ basePath: baseUrl }));
  const account = { email: uniqueEmail(), password: 'correct horse battery' };
  const user = await accounts.registerUser({ userRegistration: { ...account, name: 'Smoke' } });
  const token = await accounts.createToken({ credentials: account });
  const tasks = new TasksApi(new Configuration({ basePath: baseUrl, accessToken: token.accessToken }));
  const ids = { userId: user.id };

  const task = await tasks.createTask({ ...ids, taskCreate: { title: 'Buy milk' }, idempotencyKey: crypto.randomUUID() });
  const page = await tasks.listTasks({ ...ids, limit: 10 });
  check(page.items.some((listed) => listed.id === task.id), 'the created task is listed');

  const taskIds = { ...ids, taskId: task.id };
  const updated = await tasks.updateTask({ ...taskIds, taskMergePatch: { priority: 'high' }, ifMatch: task.etag });
  check(updated.priority === 'high', 'the patch applied');
  let problem: Problem | undefined;
  try {
    await tasks.updateTask({ ...taskIds, taskMergePatch: { priority: 'low' }, ifMatch: task.etag });
  } catch (refused: unknown) {
    if (!(refused instanceof ResponseError)) throw refused;
    problem = ProblemFromJSON(await refused.response.json());
  }
  check(problem?.status === 412 && problem.type === '/problems/precondition-failed', 'a stale ETag is a typed 412 Problem');

  const toggled = await tasks.toggleTaskCompletion({ ...taskIds, ifMatch: updated.etag });
  check(toggled.completed, 'the toggle completed the task');
  const deleted = await tasks.deleteTaskRaw({ ...taskIds, ifMatch: toggled.etag });
  check(deleted.raw.status === 204, 'the task was deleted');
}

if (require.main === module) {
  const baseUrl = process.argv[2] ?? 'http://127.0.0.1:8000';
  smoke(baseUrl).then(
    () => console.log(`OpenAPI Generator typescript-fetch SDK: every step passed against ${baseUrl}`),
    (error: unknown) => { console.error(error); process.exit(1); },
  );
}
