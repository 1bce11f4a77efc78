// The filter controls, built from the server's facets: a select per text column, a min/max pair
// per numeric one. What they hold is sent as `where`.

import { cssId, el, formatNumber, humanize, showNote } from "./dom.js";
import { msg, setAttr, setText } from "./i18n.js";
import { state } from "./state.js";

let rerun = () => {};

// `onChange(query)`: run the search on screen again, with the new filters
export function renderFilters(onChange) {
  rerun = onChange;
  el.filters.textContent = "";
  const columns = Object.keys(state.facets);
  if (!columns.length) {
    showNote(el.filters, msg("filters.none"));
    return;
  }
  for (const column of columns) {
    const facet = state.facets[column];
    const field = document.createElement("div");
    field.className = "field";
    const id = `filter-${cssId(column)}`;
    if (facet.kind === "numeric") field.append(...rangeControls(column, facet, id));
    else field.append(...selectControls(column, facet, id));
    el.filters.appendChild(field);
  }
}

function rangeControls(column, facet, id) {
  const label = document.createElement("span");
  label.className = "field-label";
  label.textContent = humanize(column);
  label.id = `${id}-label`;
  const row = document.createElement("div");
  row.className = "range-inputs";
  row.setAttribute("role", "group");
  row.setAttribute("aria-labelledby", label.id);
  for (const end of ["min", "max"]) {
    const input = document.createElement("input");
    input.type = "number";
    input.id = `${id}-${end}`;
    input.dataset.testid = `filter-${column}-${end}`;
    input.dataset.column = column;
    input.dataset.bound = end;
    input.step = "any";
    const bound = end === "min" ? facet.min : facet.max;
    if (bound !== null && bound !== undefined) {
      input.placeholder = formatNumber(bound);
      input.min = String(facet.min);
      input.max = String(facet.max);
    }
    setAttr(input, "aria-label", msg(end === "min" ? "filters.min" : "filters.max", { column: humanize(column) }));
    input.addEventListener("change", onFilterChange);
    row.appendChild(input);
    if (end === "min") {
      const dash = document.createElement("span");
      dash.className = "range-dash";
      dash.textContent = "–";
      dash.setAttribute("aria-hidden", "true");
      row.appendChild(dash);
    }
  }
  return [label, row];
}

function selectControls(column, facet, id) {
  const label = document.createElement("label");
  label.className = "field-label";
  label.htmlFor = id;
  label.textContent = humanize(column);
  const select = document.createElement("select");
  select.id = id;
  select.dataset.testid = `filter-${column}`;
  select.dataset.column = column;
  const any = new Option("", "");
  setText(any, msg("filters.any"));
  select.appendChild(any);
  const values = facet.values || [];
  const counts = facet.counts || [];
  values.forEach((value, i) => {
    const text = counts[i] !== undefined ? `${value} (${counts[i]})` : String(value);
    select.appendChild(new Option(text, String(value)));
  });
  if (facet.complete === false) {
    setAttr(select, "title", msg("filters.partial"));
  }
  select.addEventListener("change", onFilterChange);
  const controls = [label, select];
  if (facet.complete === false) {
    const hint = document.createElement("p");
    hint.className = "hint";
    setText(hint, msg("filters.top", { count: values.length }));
    controls.push(hint);
  }
  return controls;
}

// {column: value} for selects, {column: {">=": x, "<=": y}} for ranges
export function currentFilters() {
  const filters = {};
  for (const select of el.filters.querySelectorAll("select[data-column]")) {
    if (select.value !== "") filters[select.dataset.column] = select.value;
  }
  for (const input of el.filters.querySelectorAll("input[data-column]")) {
    if (input.value.trim() === "" || !Number.isFinite(Number(input.value))) continue;
    const column = input.dataset.column;
    const op = input.dataset.bound === "min" ? ">=" : "<=";
    filters[column] = { ...(filters[column] || {}), [op]: Number(input.value) };
  }
  return filters;
}

// the same filters as expressions (gender=Women, price>=10), for query strings and the summary
export function filterExpressions(filters) {
  const out = [];
  for (const [column, value] of Object.entries(filters)) {
    if (value && typeof value === "object") {
      for (const [op, bound] of Object.entries(value)) out.push(`${column}${op}${bound}`);
    } else {
      out.push(`${column}=${value}`);
    }
  }
  return out;
}

// the columns the results on screen were filtered on
export function appliedColumns() {
  return Object.keys(JSON.parse(state.appliedFilters || "{}"));
}

function onFilterChange() {
  const active = Object.keys(currentFilters()).length > 0;
  el.resetFilters.hidden = !active;
  for (const control of el.filters.querySelectorAll("[data-column]")) {
    control.classList.toggle("is-active", control.value !== "");
  }
  // a number input fires "change" on Enter and again on blur: one search per actual change
  if (state.query && JSON.stringify(currentFilters()) !== state.appliedFilters) rerun(state.query);
}

export function resetFilters() {
  for (const control of el.filters.querySelectorAll("[data-column]")) control.value = "";
  onFilterChange();
}
