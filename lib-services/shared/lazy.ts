/** One import per process, shared by concurrent callers; a failed import is retried next time. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => (pending ??= load().catch((err: unknown) => {
    pending = undefined;
    throw err;
  }));
}
