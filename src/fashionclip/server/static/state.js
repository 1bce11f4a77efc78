// What the modules share about the page's session: the key, the server's facets and page
// configuration, the search on screen and the request in flight.

export const KEY_STORAGE = "fashionclip.apiKey";
export const PAGE_SIZE = 24;

export const state = {
  keyRequired: false,
  apiKey: sessionStorage.getItem(KEY_STORAGE) || "",
  facets: {},
  page: { card_fields: [], examples: [] }, // from GET /page-config
  image: null, // the chosen File
  previewUrl: null,
  query: null, // the search on screen: {kind: "search", text, image} | {kind: "similar", id, title, image_url}
  previous: null, // the search to go back to from "more like this"
  offset: 0,
  shown: 0,
  seq: 0, // newest request; older answers are dropped
  controller: null,
  blobUrls: [],
  appliedFilters: "{}",
  panelFor: null,
  lastFocus: null,
  observer: null,
};
