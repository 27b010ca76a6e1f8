// One audit log entry as two table rows: what it is at a glance, and its details. Every value
// here came from a caller (actor and target names, metadata, reasons), so each goes in as text.
import { element } from "./dom.js";

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function stamp(iso, what, className) {
  return element(
    "time",
    { dateTime: iso, title: `${what} ${iso} (UTC)`, className },
    timeFormat.format(new Date(iso)),
  );
}

// Most callers do not say when the action happened, and then it is when it was recorded: one
// time. A caller's occurredAt may be earlier (a queued or replayed event), and the table is in
// recorded order, so then both are shown, each named.
function timeCell(node) {
  if (new Date(node.occurredAt).getTime() === new Date(node.createdAt).getTime()) {
    return element("td", { className: "time" },
      stamp(node.createdAt, "Occurred and recorded", "occurred recorded"));
  }
  return element(
    "td",
    { className: "time" },
    element("span", { className: "when" }, element("span", { className: "label" }, "Occurred "),
      stamp(node.occurredAt, "Occurred", "occurred")),
    element("span", { className: "when" }, element("span", { className: "label" }, "Recorded "),
      stamp(node.createdAt, "Recorded", "recorded")),
  );
}

function party(value) {
  return element(
    "span",
    { className: "party" },
    // A narrow column breaks after the colon first.
    element("code", {}, `${value.type}:`, element("wbr"), value.id),
    value.name ? element("span", { className: "name" }, value.name) : "",
  );
}

function targetList(targets) {
  if (!targets.length) return "—";
  return element("ul", { className: "parties" },
    ...targets.map((target) => element("li", {}, party(target))));
}

// Metadata is flat: strings shown as they are, other values (numbers, booleans, null) as their
// JSON spelling, marked so that the string "true" and the boolean true look different.
function metadataValue(value) {
  if (typeof value === "string" && value !== "") {
    return element("span", { className: "value" }, value);
  }
  const type = value === null ? "null" : typeof value === "string" ? "empty text" : typeof value;
  return element("span", { className: "value literal", title: type }, JSON.stringify(value));
}

function metadataList(metadata) {
  const keys = metadata ? Object.keys(metadata) : [];
  if (!keys.length) return "—";
  return element(
    "ul",
    { className: "metadata" },
    ...keys.map((key) => element("li", {}, element("code", { className: "key" }, key), " = ",
      metadataValue(metadata[key]))),
  );
}

function outcomeBadge(success) {
  return element(
    "span",
    { className: `outcome ${success ? "success" : "failure"}` },
    success ? "✓ Success" : "✗ Failure",
  );
}

function detailRow(node, id, columns) {
  const list = element("dl");
  const facts = [
    ["Entry id", node.id],
    ["Occurred (UTC)", node.occurredAt],
    ["Recorded (UTC)", node.createdAt],
    ["Kept until (UTC)", node.expiresAt],
    ["IP address", node.ip],
    ["User agent", node.userAgent],
    ["Request id", node.requestId],
    ["Idempotency key", node.idempotencyKey],
    ["Metadata", metadataList(node.metadata)],
  ];
  for (const [term, value] of facts) {
    list.append(element("dt", {}, term), element("dd", {}, value ?? "—"));
  }
  const cell = element("td", { colSpan: columns }, list);
  return element("tr", { id, className: "detail", hidden: true }, cell);
}

// The entry's row and its details row; `columns` is the table's column count.
export function entryRows(node, columns) {
  const detailId = `detail-${node.id}`;
  const toggle = element("button", { type: "button", className: "link" }, "Details");
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", detailId);
  const row = element(
    "tr",
    { className: "entry" },
    timeCell(node),
    element("td", { className: "action" }, node.action),
    element("td", { className: "actor" }, node.actor ? party(node.actor) : "—"),
    element("td", { className: "targets" }, targetList(node.targets)),
    element("td", { className: "email" }, node.email ?? "—"),
    element("td", {}, outcomeBadge(node.success)),
    element("td", { className: "reason" }, node.reason ?? ""),
    element("td", { className: "application" }, node.application),
    element("td", {}, toggle),
  );
  const detail = detailRow(node, detailId, columns);
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", String(!open));
    detail.hidden = open;
  });
  return [row, detail];
}
