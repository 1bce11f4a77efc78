// The search photo: chosen from the picker or dropped on the zone, previewed, removed.

import { el, showError } from "./dom.js";
import { msg, setText } from "./i18n.js";
import { resetResults, submitSearch } from "./search.js";
import { state } from "./state.js";

export function chooseImage(file) {
  if (!file) return;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.image = file;
  state.previewUrl = URL.createObjectURL(file);
  el.dropPreview.classList.remove("is-broken");
  el.previewImg.src = state.previewUrl;
  setText(el.previewName, file.name || msg("drop.unnamed"));
  el.previewName.title = file.name || "";
  el.dropEmpty.hidden = true;
  el.dropPreview.hidden = false;
  el.dropZone.classList.add("has-image");
  updateComposedControls();
  submitSearch();
}

// the photo removed and the search on screen rerun (as text) or cleared
export function removeImage() {
  removeImageQuietly();
  el.previewImg.removeAttribute("src");
  if (state.query && state.query.kind === "search") {
    if (el.input.value.trim()) submitSearch();
    else resetResults();
  }
}

// the photo removed, nothing searched
export function removeImageQuietly() {
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.image = null;
  state.previewUrl = null;
  el.fileInput.value = "";
  el.dropPreview.hidden = true;
  el.dropEmpty.hidden = false;
  el.dropZone.classList.remove("has-image");
  updateComposedControls();
}

// the image weight only matters for a text and a photo together
export function updateComposedControls() {
  el.imageWeightField.hidden = !(state.image && el.input.value.trim());
}

export function wireDropZone() {
  el.previewImg.addEventListener("error", () => el.dropPreview.classList.add("is-broken"));
  el.fileInput.addEventListener("change", () => {
    if (el.fileInput.files && el.fileInput.files[0]) chooseImage(el.fileInput.files[0]);
  });
  el.removeImage.addEventListener("click", removeImage);
  el.dropEmpty.addEventListener("click", (event) => {
    if (event.target.closest("label")) return; // the label opens the picker itself
    el.fileInput.click();
  });
  let depth = 0;
  el.dropZone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth++;
    el.dropZone.classList.add("is-dragging");
  });
  el.dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  el.dropZone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) el.dropZone.classList.remove("is-dragging");
  });
  el.dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    el.dropZone.classList.remove("is-dragging");
    const files = event.dataTransfer ? Array.from(event.dataTransfer.files || []) : [];
    const file = files.find((f) => !f.type || f.type.startsWith("image/")) || files[0];
    if (file) chooseImage(file);
    else showError(msg("drop.notImage"));
  });
  // a photo dropped anywhere else would make the browser navigate away from the page
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}
