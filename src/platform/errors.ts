/**
 * The one error type domain code throws. Edge mappers render it as the management API shape,
 * a SCIM error, or the SSO error page. `expose` says whether `message` may be shown to the caller.
 */
export class AppError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: number,
    message: string,
    public readonly options: { expose?: boolean; scimType?: string; detail?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get expose(): boolean {
    return this.options.expose ?? this.status < 500;
  }
}

export const notFound = (what = 'Resource') => new AppError('not_found', 404, `${what} not found.`);
export const invalidBody = (message: string, detail?: unknown) =>
  new AppError('invalid_body', 400, message, { detail });
export const conflict = (code: string, message: string) => new AppError(code, 409, message);

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
