// The portal's only way to the service: the same GraphQL API everyone uses, with the key as
// the bearer. The key lives in sessionStorage (this tab only), never in localStorage or cookies.

const KEY = "auditlog.apiKey";

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(code, message, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

export async function graphql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${session.key() ?? ""}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("NETWORK", "The service could not be reached. Check your connection.");
  }
  const body = await response.json().catch(() => null);
  if (!body) {
    throw new ApiError(`HTTP_${response.status}`, `The service answered ${response.status}.`);
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    const extensions = first.extensions ?? {};
    throw new ApiError(extensions.code ?? "UNKNOWN", first.message, extensions);
  }
  return body.data;
}

const PARTY = "id type name";

const ENTRY = `id action email success reason application account occurredAt createdAt expiresAt
  ip userAgent requestId idempotencyKey actor { ${PARTY} } targets { ${PARTY} } metadata`;

export const VIEWER = `{
  viewer { isOperator application scopes account { id name plan { name retentionDays canDownload } } }
  plans { name canDownload }
}`;

export const AUDIT_LOGS = `query Logs($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { ${ENTRY} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const EXPORT = `query Export($filter: AuditLogFilter, $format: ExportFormat!) {
  exportAuditLogs(filter: $filter, format: $format) { url expiresAt }
}`;

// The key's own account's streams (the service refuses keys without STREAM, or bound to one
// application); the portal asks only for keys that may see them.
export const LOG_STREAMS = `{
  logStreams { id name kind url state deliveredThrough lagSeconds delivered
    expiredUndelivered failedAttempts lastError pausedReason nextAttemptAt }
}`;
