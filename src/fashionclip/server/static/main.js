// fashionclip search page: plain ES modules, no build step, no external resources. This module
// starts the page: its language (i18n.js), the server's status, the API key, the filters and the
// page's configuration (card fields, examples: GET /page-config), and every control's events.

import { api, errorMessage, hooks } from "./api.js";
import { clearError, el, setEmpty, showError, showNote } from "./dom.js";
import { renderFilters, resetFilters } from "./filters.js";
import { removeImageQuietly, updateComposedControls, wireDropZone } from "./image.js";
import {
  chooseLanguage,
  language,
  loadStrings,
  msg,
  setAttr,
  setLanguage,
  setText,
  wireLanguageSelect,
} from "./i18n.js";
import { closePanel, trapFocus } from "./panel.js";
import { backFromSimilar, fetchPage, resetResults, runSearch, submitSearch } from "./search.js";
import { KEY_STORAGE, state } from "./state.js";

async function init() {
  await loadStrings();
  setLanguage(chooseLanguage());
  wireLanguageSelect(el.langSelect, el.langSwitch);
  hooks.unauthorized = () => showKeyForm(true);
  wireEvents();
  try {
    const health = await api("health");
    setText(el.modelName, health.model);
    setAttr(el.modelName, "title", msg("server.modelTitle", { model: health.model, dim: health.dim }));
    el.productCount.textContent = new Intl.NumberFormat(language()).format(Number(health.products));
    state.keyRequired = Boolean(health.api_key_required);
    setText(el.title, msg("page.titleLoaded", { model: health.model, count: Number(health.products) }));
  } catch (err) {
    showError(msg("server.statusError", { message: errorMessage(err) }));
    setText(el.modelName, msg("server.unavailable"));
    el.productCount.textContent = "–";
    return;
  }
  if (state.keyRequired) {
    showKeyForm(!state.apiKey);
    if (!state.apiKey) {
      showNote(el.filters, msg("key.neededForFilters"));
      setEmpty(msg("key.neededTitle"), msg("key.neededText"));
      el.keyInput.focus();
      return;
    }
  } else {
    state.apiKey = "";
  }
  await loadCatalogue();
}

function showKeyForm(show) {
  if (!state.keyRequired && !show) return;
  el.keyForm.hidden = false;
  el.keyForm.classList.toggle("needs-key", Boolean(show));
  if (state.apiKey && !el.keyInput.value) el.keyInput.value = state.apiKey;
}

// the filters (facets) and the page's configuration, both read from the index
async function loadCatalogue() {
  try {
    const [body, page] = await Promise.all([api("facets"), api("page-config")]);
    state.facets = body.facets || {};
    state.page = page || state.page;
    renderFilters(runSearch);
    renderExamples();
    return true;
  } catch (err) {
    showNote(el.filters, msg("filters.unavailable"));
    showError(msg("filters.loadError", { message: errorMessage(err) }));
    return false;
  }
}

function renderExamples() {
  for (const button of el.examples.querySelectorAll("button.example")) button.remove();
  for (const example of state.page.examples || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    button.textContent = example;
    button.addEventListener("click", () => {
      el.input.value = example;
      updateComposedControls();
      submitSearch();
    });
    el.examples.appendChild(button);
  }
}

function wireEvents() {
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitSearch();
  });
  el.input.addEventListener("input", updateComposedControls);
  wireDropZone();

  el.imageWeight.addEventListener("input", () => {
    el.imageWeightValue.textContent = Number(el.imageWeight.value).toFixed(2);
  });
  el.imageWeight.addEventListener("change", () => {
    if (state.query && state.query.kind === "search" && state.query.image && state.query.text) runSearch(state.query);
  });
  el.keywordWeight.addEventListener("input", () => {
    el.keywordWeightValue.textContent = Number(el.keywordWeight.value).toFixed(2);
  });
  el.keywordWeight.addEventListener("change", () => {
    if (state.query && state.query.kind === "search" && state.query.text) runSearch(state.query);
  });
  el.resetFilters.addEventListener("click", resetFilters);

  el.errorClose.addEventListener("click", clearError);
  el.loadMore.addEventListener("click", () => fetchPage(true));
  el.bannerBack.addEventListener("click", backFromSimilar);
  el.bannerClear.addEventListener("click", () => {
    el.input.value = "";
    removeImageQuietly();
    resetResults();
    el.input.focus();
  });

  el.panelClose.addEventListener("click", closePanel);
  el.overlay.addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !el.panel.hidden) closePanel();
    if (event.key === "Tab" && !el.panel.hidden) trapFocus(event);
  });

  el.keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = el.keyInput.value.trim();
    state.apiKey = key;
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    clearError();
    el.keyForm.classList.toggle("needs-key", !key);
    if (!key) return;
    if (await loadCatalogue()) {
      el.keyForm.classList.remove("needs-key");
      if (state.query) runSearch(state.query);
      else resetResults();
    }
  });
}

// a module runs after the document is parsed (deferred), so the elements are there
init();
