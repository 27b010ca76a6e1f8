// The account's log streams as table rows, read-only. A stream's name is whatever its creator
// typed, so it goes in as text like every other value here.
import { element } from "./dom.js";

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

const KINDS = { WEBHOOK: "Webhook", SPLUNK_HEC: "Splunk HEC", SYSLOG: "Syslog" };
const STATES = { ACTIVE: "Active", PAUSED: "Paused", FAILING: "Failing", DISABLED: "Disabled" };
const PAUSED_BECAUSE = {
  REQUESTED: "paused on request",
  PLAN: "the plan has no log streams",
  FAILING_TOO_LONG: "failed for too long",
};

// Only the scheme, host and port: a webhook's path or query may itself be a credential (many
// SIEMs put the ingest key there), and a screen is read over shoulders.
export function destination(url) {
  const origin = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(url);
  return origin ? origin[1] : url;
}

// Seconds as a person reads them: "45 s", "3 min 5 s", "2 h 4 min", "3 d 1 h".
export function formatLag(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const total = Math.max(0, Math.round(seconds));
  const [d, h, m, s] = [
    Math.floor(total / 86_400), Math.floor(total / 3_600) % 24, Math.floor(total / 60) % 60,
    total % 60,
  ];
  if (d) return h ? `${d} d ${h} h` : `${d} d`;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  if (m) return s ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

function stamp(iso, what) {
  if (!iso) return "—";
  return element("time", { dateTime: iso, title: `${what} ${iso} (UTC)` },
    timeFormat.format(new Date(iso)));
}

function stateCell(stream) {
  const badge = element("span", { className: `stream-state ${stream.state.toLowerCase()}` },
    STATES[stream.state] ?? stream.state);
  let why = "";
  if (stream.state === "PAUSED" && stream.pausedReason) {
    why = PAUSED_BECAUSE[stream.pausedReason] ?? stream.pausedReason;
  } else if (stream.state === "FAILING" && stream.nextAttemptAt) {
    why = element("span", {}, "retries ", stamp(stream.nextAttemptAt, "Next attempt"));
  }
  return element("td", { className: "state" }, badge,
    why ? element("span", { className: "why" }, why) : "");
}

function errorCell(stream) {
  if (!stream.lastError) return element("td", { className: "error-code" }, "—");
  const attempts = stream.failedAttempts === 1 ? "1 attempt" : `${stream.failedAttempts} attempts`;
  return element("td", { className: "error-code" }, element("code", {}, stream.lastError),
    stream.failedAttempts ? element("span", { className: "why" }, attempts) : "");
}

// Entries that expired before the stream could send them (paused, or failing): never sent.
function deliveredCell(stream) {
  const expired = stream.expiredUndelivered ?? 0;
  return element("td", { className: "delivered" }, stream.delivered.toLocaleString(),
    expired ? element("span", { className: "why expired" },
      `${expired.toLocaleString()} expired unsent`) : "");
}

export function streamRow(stream) {
  const lag = element("td", { className: "lag" }, formatLag(stream.lagSeconds));
  lag.title = stream.lagSeconds === null
    ? "Not delivered yet"
    : `${stream.lagSeconds.toFixed(1)} seconds behind now`;
  return element(
    "tr",
    { className: "stream" },
    element("td", { className: "name" }, stream.name),
    element("td", { className: "kind" }, KINDS[stream.kind] ?? stream.kind),
    element("td", { className: "destination" }, element("code", {}, destination(stream.url))),
    stateCell(stream),
    lag,
    deliveredCell(stream),
    errorCell(stream),
    element("td", { className: "through" }, stamp(stream.deliveredThrough, "Delivered through")),
  );
}
