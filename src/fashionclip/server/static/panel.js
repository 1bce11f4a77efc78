// The details panel: a product's metadata and its zero-shot tags.

import { api, errorMessage } from "./api.js";
import { loadImage } from "./cards.js";
import { el, humanize, showNote } from "./dom.js";
import { msg, setText } from "./i18n.js";
import { state } from "./state.js";

// `onSimilar(product)`: the panel's "more like this"
export async function openPanel(product, opener, onSimilar) {
  state.panelFor = product.id;
  state.lastFocus = opener || document.activeElement;
  setText(el.panelTitle, product.text); // the product's own words, no longer a key
  el.panelId.textContent = product.id;
  el.panelImg.alt = product.text;
  el.panelImg.removeAttribute("src");
  el.panelImg.parentElement.classList.remove("no-image");
  if (product.image_url) loadImage(el.panelImg, product.image_url);
  else el.panelImg.parentElement.classList.add("no-image");
  renderMeta(product.metadata || {});
  el.panelTags.textContent = "";
  el.panelTags.dataset.state = "loading";
  const spinner = document.createElement("span");
  spinner.className = "spinner inline";
  const tagging = document.createElement("span");
  setText(tagging, msg("panel.tagging"));
  const note = document.createElement("p");
  note.className = "muted small";
  note.append(spinner, " ", tagging);
  el.panelTags.replaceChildren(note);
  el.panelSimilar.onclick = () => onSimilar(product);
  el.overlay.hidden = false;
  el.panel.hidden = false;
  document.body.classList.add("panel-open");
  requestAnimationFrame(() => el.panel.classList.add("is-open"));
  el.panelClose.focus();
  try {
    const detail = await api(`products/${encodeURIComponent(product.id)}?tags=true`);
    if (state.panelFor !== product.id) return;
    renderMeta(detail.metadata || {});
    renderTags(detail.tags || {});
  } catch (err) {
    if (state.panelFor !== product.id) return;
    el.panelTags.dataset.state = "error";
    el.panelTags.textContent = "";
    const p = document.createElement("p");
    p.className = "panel-error";
    p.setAttribute("role", "alert");
    setText(p, msg("panel.tagsError", { message: errorMessage(err) }));
    el.panelTags.appendChild(p);
  }
}

function renderMeta(metadata) {
  el.panelMeta.textContent = "";
  for (const [key, value] of Object.entries(metadata)) {
    const dt = document.createElement("dt");
    dt.textContent = humanize(key);
    const dd = document.createElement("dd");
    dd.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
    dd.dataset.field = key;
    el.panelMeta.append(dt, dd);
  }
}

function renderTags(tags) {
  el.panelTags.textContent = "";
  const attributes = Object.keys(tags);
  if (!attributes.length) {
    showNote(el.panelTags, msg("panel.noTags"));
  }
  for (const attribute of attributes) {
    const group = document.createElement("div");
    group.className = "tag-group";
    group.dataset.attribute = attribute;
    const heading = document.createElement("h4");
    heading.textContent = humanize(attribute);
    const list = document.createElement("ul");
    list.className = "tag-list";
    for (const tag of tags[attribute]) list.appendChild(tagChip(tag));
    group.append(heading, list);
    el.panelTags.appendChild(group);
  }
  el.panelTags.dataset.state = "done";
}

function tagChip(tag) {
  const item = document.createElement("li");
  item.className = "tag-chip";
  item.dataset.testid = "tag-chip";
  item.dataset.label = tag.label;
  const pct = Math.max(0, Math.min(1, Number(tag.score) || 0));
  item.style.setProperty("--score", String(pct));
  const label = document.createElement("span");
  label.className = "tag-label";
  label.textContent = tag.label;
  const value = document.createElement("span");
  value.className = "tag-score";
  value.textContent = pct.toFixed(2);
  const bar = document.createElement("span");
  bar.className = "tag-bar";
  bar.setAttribute("aria-hidden", "true");
  item.setAttribute("aria-label", `${tag.label}: ${pct.toFixed(2)}`);
  item.append(label, value, bar);
  return item;
}

export function closePanel() {
  if (el.panel.hidden) return;
  state.panelFor = null;
  el.panel.classList.remove("is-open");
  el.panel.hidden = true;
  el.overlay.hidden = true;
  document.body.classList.remove("panel-open");
  if (state.lastFocus && document.contains(state.lastFocus)) state.lastFocus.focus();
}

// keep Tab inside the open panel (it is a modal dialog)
export function trapFocus(event) {
  const focusable = el.panel.querySelectorAll("button, [href], input, select, [tabindex]:not([tabindex='-1'])");
  if (!focusable.length) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}
