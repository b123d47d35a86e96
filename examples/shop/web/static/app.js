// The shop's web page: lists shop.v1.Catalog page by page and creates
// products, through REST (google.api.http routes) or the Connect protocol.
"use strict";

const PAGE_SIZE = 5;
// tokens[i] is the page_token of page i; the first page has none.
let tokens = [""];
let page = 0;
let nextToken = "";

const $ = (id) => document.getElementById(id);
const protocol = () => $("protocol").value;

// An APIError carries the status code name and message of a failed call,
// whichever protocol it came back in.
class APIError extends Error {
  constructor(code, message) {
    super(code + ": " + message);
    this.code = code;
  }
}

async function decode(resp) {
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) {
    return body;
  }
  // REST answers a google.rpc.Status ({code: 3, message}), Connect an
  // error object ({code: "invalid_argument", message}).
  throw new APIError(String(body.code ?? resp.status), body.message ?? resp.statusText);
}

// connect calls a shop.v1.Catalog method with the Connect protocol (unary,
// JSON).
async function connect(method, request) {
  const resp = await fetch("/shop.v1.Catalog/" + method, {
    method: "POST",
    headers: {"Content-Type": "application/json", "Connect-Protocol-Version": "1"},
    body: JSON.stringify(request),
  });
  return decode(resp);
}

async function listProducts(pageToken) {
  if (protocol() === "connect") {
    return connect("ListProducts", {pageSize: PAGE_SIZE, pageToken: pageToken});
  }
  const query = new URLSearchParams({page_size: PAGE_SIZE, page_token: pageToken});
  return decode(await fetch("/v1/products?" + query));
}

async function createProduct(product, productId) {
  if (protocol() === "connect") {
    return connect("CreateProduct", {product: product, productId: productId});
  }
  const query = productId ? "?" + new URLSearchParams({product_id: productId}) : "";
  return decode(await fetch("/v1/products" + query, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(product),
  }));
}

function formatPrice(money) {
  if (!money) {
    return "";
  }
  const units = Number(money.minorUnits ?? 0);
  return (units / 100).toFixed(2) + " " + (money.currencyCode ?? "");
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

function showStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function showPage() {
  try {
    const resp = await listProducts(tokens[page]);
    const body = $("products").tBodies[0];
    body.replaceChildren();
    for (const p of resp.products ?? []) {
      const row = document.createElement("tr");
      row.dataset.name = p.name;
      cell(row, p.name);
      cell(row, p.title ?? "");
      cell(row, (p.category ?? "").replace("PRODUCT_CATEGORY_", "").toLowerCase());
      cell(row, formatPrice(p.price));
      body.appendChild(row);
    }
    nextToken = resp.nextPageToken ?? "";
    $("page").textContent = "Page " + (page + 1);
    $("prev").disabled = page === 0;
    $("next").disabled = nextToken === "";
    document.body.dataset.loaded = String(Date.now());
  } catch (err) {
    showStatus("Listing failed: " + err.message, true);
  }
}

$("prev").addEventListener("click", () => {
  if (page > 0) {
    page--;
    showPage();
  }
});

$("next").addEventListener("click", () => {
  if (nextToken !== "") {
    tokens[page + 1] = nextToken;
    page++;
    showPage();
  }
});

$("protocol").addEventListener("change", () => {
  tokens = [""];
  page = 0;
  showPage();
});

$("create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  // namedItem: form.name and form.title are the form's own attributes.
  const field = (name) => form.elements.namedItem(name).value;
  const product = {
    title: field("title"),
    category: field("category"),
    price: {
      currencyCode: field("currency").toUpperCase(),
      minorUnits: String(Math.round(Number(field("price")) * 100)),
    },
  };
  try {
    const created = await createProduct(product, field("name").trim());
    showStatus("Created " + created.name + " through " + protocol().toUpperCase() + ".", false);
    form.reset();
    await showPage();
  } catch (err) {
    showStatus("Creating failed: " + err.message, true);
  }
});

showPage();
