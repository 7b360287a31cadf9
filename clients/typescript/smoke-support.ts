// What every TypeScript smoke test shares.
export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`smoke test failed: ${what}`);
}

export function uniqueEmail(): string {
  return `smoke-${crypto.randomUUID().slice(0, 12)}@example.com`;
}
