// Small helpers over the REST API (DESIGN.md, "REST").
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What a request that never got an answer (the server is down, the network is gone) says:
// fetch's own "Failed to fetch" tells an agent nothing.
export const UNREACHABLE = "the server could not be reached (it may be restarting, or you are offline)";

export async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, "unreachable", UNREACHABLE);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || { code: "http_" + response.status, message: response.statusText };
    // Refusals may carry data (a 409 `locked` names the holder).
    throw Object.assign(new ApiError(response.status, error.code, error.message), { holder: error.holder || null });
  }
  return data;
}
