// A newest-first list read page by page from an endpoint that answers
// ``{<items>: [...], before: cursor | null}``: "newer" / "older" buttons, and a
// refresh that re-reads the page shown (so the first page stays live).

import { el, fetchJson, replaceRows } from "./util.js";

export class Pager {
  // url(cursor) -> path; key: the answer's list field; row(item) -> <tr>
  constructor({ table, nav, url, key, row, empty, columns }) {
    Object.assign(this, { table, url, key, row, empty, columns });
    this.cursors = [null]; // cursors[i] reads page i; page 0 is the newest
    this.next = null; // the shown page's "before"
    this.newer = el("button", { type: "button", text: "newer", class: "page" });
    this.older = el("button", { type: "button", text: "older", class: "page" });
    this.label = el("span", { class: "muted page-label" });
    this.newer.addEventListener("click", () => this.go(-1));
    this.older.addEventListener("click", () => this.go(1));
    nav.replaceChildren(this.newer, this.label, this.older);
    this.renderNav();
  }

  reset(url) {
    this.url = url;
    this.cursors = [null];
    this.next = null;
    this.renderNav();
  }

  async go(step) {
    if (step > 0 && this.next === null) return;
    if (step > 0) this.cursors.push(this.next);
    else if (this.cursors.length > 1) this.cursors.pop();
    await this.refresh();
  }

  async refresh() {
    const answer = await fetchJson(this.url(this.cursors[this.cursors.length - 1]));
    this.next = answer.before;
    replaceRows(this.table.querySelector("tbody"), answer[this.key].map(this.row), this.empty, this.columns);
    this.renderNav();
  }

  renderNav() {
    const page = this.cursors.length;
    this.newer.disabled = page === 1;
    this.older.disabled = this.next === null;
    this.label.textContent = page === 1 ? "newest" : `page ${page}`;
  }
}
