// The audit log viewer. Data goes through auditLogs (audited as portal.audit_logs.viewed);
// the backend enforces every rule itself, whatever this page shows or hides.
import { ApiError, AUDIT_LOGS, EXPORT, graphql, LOG_STREAMS, session, VIEWER } from "./api.js";
import { element } from "./dom.js";
import { entryRows } from "./entries.js";
import { streamRow } from "./streams.js";

const PAGE_SIZE = 50;
const $ = (id) => document.getElementById(id);
const state = { viewer: null, plans: [], after: null, seenActions: new Set() };

function say(message) {
  $("status").textContent = message;
}

// --- signing in and out -------------------------------------------------------------------

function showSignIn(error) {
  state.viewer = null;
  $("who").hidden = true;
  $("logs").hidden = true;
  $("streams").hidden = true;
  $("stream-rows").replaceChildren();
  $("sign-in").hidden = false;
  $("sign-in-error").hidden = !error;
  $("sign-in-error").textContent = error ?? "";
  $("api-key").focus();
}

function explainSignInFailure(error) {
  if (error.code === "UNAUTHENTICATED") {
    return "This key was not accepted: it is wrong, or it has been revoked.";
  }
  if (error.code === "RATE_LIMITED") return "Too many requests; wait a moment and try again.";
  return `Signing in failed: ${error.message}`;
}

async function signIn(key) {
  session.signIn(key);
  try {
    const data = await graphql(VIEWER);
    if (data.viewer.isOperator || !data.viewer.account) {
      session.signOut();
      showSignIn("The portal is for API keys. Sign in with a key that has the READ scope.");
      return;
    }
    if (!data.viewer.scopes.includes("READ")) {
      session.signOut();
      showSignIn("This key cannot read audit logs: it lacks the READ scope.");
      return;
    }
    state.viewer = data.viewer;
    state.plans = data.plans;
    showViewer();
    await Promise.all([reload(), loadStreams()]);
  } catch (error) {
    session.signOut();
    showSignIn(error instanceof ApiError ? explainSignInFailure(error) : String(error));
  }
}

function signOut() {
  session.signOut();
  $("rows").replaceChildren();
  say("You are signed out. The key has been forgotten.");
  showSignIn();
}

// --- who and what the plan allows --------------------------------------------------------

function showViewer() {
  const { account, application, scopes } = state.viewer;
  const plan = account.plan;
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("logs").hidden = false;
  $("account-line").textContent =
    `${account.name} (${account.id})` + (application ? ` · application ${application}` : "");
  const days = plan.retentionDays === 1 ? "1 day" : `${plan.retentionDays} days`;
  $("retention-line").textContent = `Logs are kept for ${days} on the ${plan.name} plan.`;

  const canDownload = plan.canDownload && scopes.includes("EXPORT");
  $("downloads").hidden = !canDownload;
  const note = $("download-note");
  note.hidden = canDownload;
  if (!plan.canDownload) {
    const allowing = state.plans.filter((p) => p.canDownload).map((p) => p.name);
    note.textContent = allowing.length
      ? `Download is available on the ${allowing.join(" and ")} plan${allowing.length > 1 ? "s" : ""}.`
      : "Download is not available on any plan of this service.";
  } else if (!scopes.includes("EXPORT")) {
    note.textContent = "Your plan allows download, but this key lacks the EXPORT scope.";
  }
}

// --- log streams: only for a key that may see them (STREAM, the whole account) ----------

function maySeeStreams(viewer) {
  return viewer.scopes.includes("STREAM") && !viewer.application;
}

async function loadStreams() {
  const viewer = state.viewer;
  $("streams").hidden = !viewer || !maySeeStreams(viewer);
  if ($("streams").hidden) return;
  const note = $("streams-note");
  const button = $("refresh-streams");
  button.disabled = true;
  try {
    const data = await graphql(LOG_STREAMS);
    if (state.viewer !== viewer) return; // signed out meanwhile
    $("stream-rows").replaceChildren(...data.logStreams.map(streamRow));
    note.textContent = data.logStreams.length ? "" : "This account has no log streams.";
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") {
      handle(error);
      return;
    }
    $("stream-rows").replaceChildren();
    note.textContent = `The log streams could not be shown: ${error.message}`;
  } finally {
    note.hidden = !note.textContent;
    button.disabled = false;
  }
}

// --- filters, kept in the URL so a view can be shared and reloaded ------------------------

const FIELDS = ["action", "email", "actor", "target", "outcome", "since", "until"];

// Times go in the URL as UTC, so a shared view means the same moments in any time zone; the
// inputs show them in the browser's own zone.
const TIMES = new Set(["since", "until"]);

function localToIso(value) {
  return value ? new Date(value).toISOString() : undefined;
}

function isoToLocal(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
    `T${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}`;
}

function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const name of FIELDS) {
    const value = params.get(name) ?? "";
    $(`f-${name}`).value = TIMES.has(name) && value ? isoToLocal(value) : value;
  }
}

function filtersToUrl() {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = $(`f-${name}`).value.trim();
    if (value) params.set(name, TIMES.has(name) ? localToIso(value) : value);
  }
  const query = params.toString();
  history.pushState(null, "", query ? `?${query}` : location.pathname);
}

function currentFilter() {
  const filter = {};
  const action = $("f-action").value.trim();
  const email = $("f-email").value.trim();
  const actor = $("f-actor").value.trim();
  const target = $("f-target").value.trim();
  const outcome = $("f-outcome").value;
  if (action) filter.actions = [action];
  if (email) filter.email = email;
  if (actor) filter.actorId = actor;
  if (target) filter.targetId = target;
  if (outcome) filter.success = outcome === "success";
  const since = localToIso($("f-since").value);
  const until = localToIso($("f-until").value);
  if (since) filter.since = since;
  if (until) filter.until = until;
  return filter;
}

// --- the table ---------------------------------------------------------------------------

function rememberActions(nodes) {
  for (const node of nodes) state.seenActions.add(node.action);
  $("seen-actions").replaceChildren(
    ...[...state.seenActions].sort().map((action) => element("option", { value: action })),
  );
}

async function loadPage() {
  const button = $("load-more");
  button.disabled = true;
  try {
    const data = await graphql(AUDIT_LOGS, {
      filter: currentFilter(), first: PAGE_SIZE, after: state.after,
    });
    const { edges, pageInfo } = data.auditLogs;
    const nodes = edges.map((edge) => edge.node);
    const columns = $("entries").tHead.rows[0].cells.length;
    $("rows").append(...nodes.flatMap((node) => entryRows(node, columns)));
    rememberActions(nodes);
    state.after = pageInfo.endCursor;
    button.hidden = !pageInfo.hasNextPage;
    $("empty").hidden = $("rows").children.length > 0;
    say("");
  } catch (error) {
    handle(error);
  } finally {
    button.disabled = false;
  }
}

async function reload() {
  state.after = null;
  $("rows").replaceChildren();
  $("empty").hidden = true;
  await loadPage();
}

async function download(format) {
  try {
    const data = await graphql(EXPORT, { filter: currentFilter(), format });
    say(`Your ${format} download has started.`);
    location.assign(data.exportAuditLogs.url);
  } catch (error) {
    handle(error);
  }
}

function handle(error) {
  if (!(error instanceof ApiError)) {
    say(String(error));
  } else if (error.code === "UNAUTHENTICATED") {
    session.signOut();
    showSignIn("Your key is no longer accepted (it may have been revoked). Sign in again.");
  } else if (error.code === "FORBIDDEN" && error.extensions.reason === "EXPORT_NOT_IN_PLAN") {
    say("Your plan does not include download.");
  } else if (error.code === "RATE_LIMITED") {
    say(`Too many requests; try again in ${error.extensions.retryAfterSeconds ?? "a few"} s.`);
  } else {
    say(`${error.code === "BAD_USER_INPUT" ? "Check the filters" : "Something went wrong"}: ${error.message}`);
  }
}

// --- wiring ------------------------------------------------------------------------------

function start() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    $("api-key").value = "";
    if (!key) {
      showSignIn("Enter an API key.");
      return;
    }
    say("");
    signIn(key);
  });
  $("sign-out").addEventListener("click", signOut);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    filtersToUrl();
    reload();
  });
  $("clear-filters").addEventListener("click", () => {
    for (const name of FIELDS) $(`f-${name}`).value = "";
    filtersToUrl();
    reload();
  });
  $("load-more").addEventListener("click", loadPage);
  $("refresh-streams").addEventListener("click", loadStreams);
  $("download-csv").addEventListener("click", () => download("CSV"));
  $("download-ndjson").addEventListener("click", () => download("NDJSON"));
  window.addEventListener("popstate", () => {
    filtersFromUrl();
    if (state.viewer) reload();
  });

  filtersFromUrl();
  const key = session.key();
  if (key) signIn(key);
  else showSignIn();
}

start();
