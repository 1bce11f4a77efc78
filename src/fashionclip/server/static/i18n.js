// The page's interface in the reader's language. Every string comes from ONE table, strings.json
// ({language code: {key: text}}); the language is ?lang= in the address, else the reader's saved
// choice, else the browser's languages, else English. Elements name their key (data-i18n: text,
// data-i18n-<attribute>: an attribute, data-i18n-fill: text around child elements named by
// data-slot), so a change of language rewrites them all in place. A string is only ever set as
// text (textContent, an attribute), never as HTML; a language code, whatever the address says,
// is only ever compared with the table's own codes.

const STORAGE = "fashionclip.lang";
const FALLBACK = "en";
const ATTRIBUTES = ["placeholder", "title", "aria-label", "alt"];
const SELECTOR = ["[data-i18n]", "[data-i18n-fill]", ...ATTRIBUTES.map((a) => `[data-i18n-${a}]`)].join(", ");

let table = {};
let current = FALLBACK;
const listeners = [];

const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

// a string the page shows: a key and its arguments (numbers, text, or other messages)
export const msg = (key, args = {}) => ({ key, args });

export async function loadStrings() {
  try {
    const response = await fetch("static/strings.json");
    if (response.ok) table = await response.json();
  } catch (_) {
    table = {}; // the page's own English (in index.html) stays; scripts show keys
  }
}

export function language() {
  return current;
}

// the table's language codes, English first
export function languages() {
  const codes = Object.keys(table).filter((code) => table[code] && typeof table[code] === "object");
  return codes.sort((a, b) => (b === FALLBACK) - (a === FALLBACK));
}

// the table's code for a language tag ("zh-CN", "ZH", "zh_TW" -> "zh"), or null
export function supported(tag) {
  if (typeof tag !== "string") return null;
  const wanted = tag.trim().toLowerCase();
  const codes = languages();
  const exact = codes.find((code) => code.toLowerCase() === wanted);
  if (exact) return exact;
  const base = wanted.split(/[-_]/)[0];
  return codes.find((code) => code.toLowerCase() === base) || null;
}

// ?lang=, else the saved choice, else the first of the browser's languages the table has
export function chooseLanguage() {
  const browser = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  const candidates = [new URLSearchParams(location.search).get("lang"), saved(), ...browser];
  for (const tag of candidates) {
    const code = supported(tag);
    if (code) return code;
  }
  return FALLBACK;
}

function saved() {
  try {
    return localStorage.getItem(STORAGE);
  } catch (_) {
    return null; // storage blocked
  }
}

// `remember`: the reader chose it (saved, and the address's ?lang= follows)
export function setLanguage(tag, { remember = false } = {}) {
  current = supported(tag) || FALLBACK;
  const root = document.documentElement;
  root.lang = current;
  root.dir = t("language.dir") === "rtl" ? "rtl" : "ltr";
  translate(document);
  for (const template of document.querySelectorAll("template")) translate(template.content);
  if (remember) {
    try {
      localStorage.setItem(STORAGE, current);
    } catch (_) {
      // storage blocked: the choice lasts this page
    }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", current);
      history.replaceState(history.state, "", url);
    }
  }
  for (const listener of listeners) listener(current);
}

export function onLanguageChange(listener) {
  listeners.push(listener);
}

// the language selector: one option per language of the table, named in its own language
export function wireLanguageSelect(select, wrapper = select) {
  select.textContent = "";
  for (const code of languages()) {
    const strings = table[code];
    const name = own(strings, "language.name") ? strings["language.name"] : code;
    const option = new Option(name, code);
    option.lang = code;
    select.appendChild(option);
  }
  select.value = current;
  select.addEventListener("change", () => setLanguage(select.value, { remember: true }));
  wrapper.hidden = select.options.length < 2;
}

// ------------------------------------------------------------------ strings
// the template of `key` in the current language (else English); a key with plural forms
// (key.one, key.other...) picks the form of `args.count`
function lookup(key, args = {}) {
  for (const code of [current, FALLBACK]) {
    const strings = own(table, code) ? table[code] : null;
    if (!strings || typeof strings !== "object") continue;
    if (own(strings, key) && typeof strings[key] === "string") return strings[key];
    if (own(strings, `${key}.other`)) {
      const form = `${key}.${new Intl.PluralRules(code).select(Number(args.count))}`;
      return own(strings, form) ? strings[form] : strings[`${key}.other`];
    }
  }
  return undefined;
}

export function t(key, args = {}) {
  const template = lookup(key, args);
  return template === undefined ? key : substitute(template, args);
}

// a message as text: a {key, args} message translated, anything else as it is
export function text(message) {
  if (message && typeof message === "object") return t(message.key, message.args || {});
  return message === undefined || message === null ? "" : String(message);
}

// {name} -> the argument's text, once (an argument's own braces are never read again)
function substitute(template, args) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (own(args, name) ? text(args[name]) : whole));
}

// ------------------------------------------------------------------ elements
// `message`: a msg() (kept on the element, so a change of language rewrites it) or plain text
export function setText(node, message) {
  if (message && typeof message === "object") {
    node.dataset.i18n = message.key;
    keepArgs(node, message.args);
  } else {
    delete node.dataset.i18n;
  }
  node.textContent = text(message);
}

export function setAttr(node, attribute, message) {
  const marker = `data-i18n-${attribute}`;
  if (message && typeof message === "object") {
    node.setAttribute(marker, message.key);
    keepArgs(node, message.args);
  } else {
    node.removeAttribute(marker);
  }
  node.setAttribute(attribute, text(message));
}

function keepArgs(node, args) {
  if (args && Object.keys(args).length) node.dataset.i18nArgs = JSON.stringify({ ...readArgs(node), ...args });
}

function readArgs(node) {
  try {
    const args = JSON.parse(node.dataset.i18nArgs || "{}");
    return args && typeof args === "object" ? args : {};
  } catch (_) {
    return {};
  }
}

// every keyed element under `root` in the current language; a key the table lacks leaves the
// element as it is
export function translate(root) {
  for (const node of root.querySelectorAll(SELECTOR)) {
    const args = readArgs(node);
    if (node.dataset.i18nFill) fill(node, node.dataset.i18nFill, args);
    else if (node.dataset.i18n && lookup(node.dataset.i18n, args) !== undefined) {
      node.textContent = t(node.dataset.i18n, args);
    }
    for (const attribute of ATTRIBUTES) {
      const key = node.getAttribute(`data-i18n-${attribute}`);
      if (key && lookup(key, args) !== undefined) node.setAttribute(attribute, t(key, args));
    }
  }
}

// "{photo} or {browse}": the text around the element's children named data-slot="photo"...,
// in the order the language puts them
function fill(node, key, args) {
  const template = lookup(key, args);
  if (template === undefined) return;
  const slots = {};
  for (const child of node.children) if (child.dataset.slot) slots[child.dataset.slot] = child;
  const parts = template.split(/\{(\w+)\}/).map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    if (own(slots, part)) return slots[part];
    return document.createTextNode(own(args, part) ? text(args[part]) : `{${part}}`);
  });
  node.replaceChildren(...parts.filter((part) => part.nodeType !== Node.TEXT_NODE || part.data));
}
