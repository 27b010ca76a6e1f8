// Building the page from data. Children are appended with `append`, so a string becomes a text
// node, never markup: the entries' names, reasons and metadata are whatever their callers sent.

export function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child ?? "");
  return node;
}
