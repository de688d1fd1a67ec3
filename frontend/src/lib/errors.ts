/** An API failure carrying the server's error envelope ({error: {message, type, param, code}}). */
export class ApiError extends Error {
  status: number;
  type: string;
  param: string | null;
  code: string | null;

  constructor(message: string, status = 0, type = "error", param: string | null = null, code: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }
}

interface Envelope {
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown };
  detail?: unknown;
}

/** Builds an ApiError from an error body of any shape (envelope, FastAPI detail, text). */
export function toApiError(body: unknown, status = 0): ApiError {
  if (body instanceof ApiError) return body;
  if (body instanceof Error) {
    if (body.name === "TypeError" && /fetch|network/i.test(body.message)) {
      return new ApiError("Cannot reach the API server. Is it running? (Settings › API base)", status, "network_error");
    }
    return new ApiError(body.message, status);
  }
  const env = (body && typeof body === "object" ? body : {}) as Envelope;
  if (env.error && typeof env.error.message === "string") {
    return new ApiError(
      env.error.message,
      status,
      typeof env.error.type === "string" ? env.error.type : "error",
      typeof env.error.param === "string" ? env.error.param : null,
      typeof env.error.code === "string" ? env.error.code : null,
    );
  }
  if (typeof env.detail === "string") return new ApiError(env.detail, status);
  if (typeof body === "string" && body.trim()) return new ApiError(body.trim().slice(0, 500), status);
  if (status === 401) return new ApiError("The server wants an API key: set it in Settings.", status, "authentication_error");
  return new ApiError(`Request failed${status ? ` (HTTP ${status})` : ""}.`, status);
}

export function errorMessage(err: unknown): string {
  return toApiError(err).message;
}
