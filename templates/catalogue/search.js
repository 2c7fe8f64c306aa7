/* The catalogue's search: no framework, no server. The index (search-index.js) is an array of
 * {ref, name, library, kind, value, description, source, page, anchor, text}; every term of the
 * query must occur in an entry's text. Exact names rank first, then name prefixes, then values.
 * In node (tests): require() this file and call search(index, query). */
(function (root) {
  "use strict";

  function terms(query) {
    return String(query || "").toLowerCase().split(/\s+/).filter(function (t) { return t.length > 0; });
  }

  function rank(entry, words, whole) {
    var name = entry.name.toLowerCase(), value = (entry.value || "").toLowerCase();
    if (name === whole || entry.ref.toLowerCase() === whole) return 0;
    if (value === whole) return 1;
    if (name.indexOf(words[0]) === 0) return 2;
    if (value.indexOf(words[0]) === 0) return 3;
    return 4;
  }

  function search(index, query, limit) {
    var words = terms(query), whole = words.join(" "), hits = [];
    if (!words.length) return hits;
    for (var i = 0; i < index.length; i++) {
      var text = index[i].text, all = true;
      for (var w = 0; w < words.length && all; w++) all = text.indexOf(words[w]) >= 0;
      if (all) hits.push({ entry: index[i], rank: rank(index[i], words, whole), order: i });
    }
    hits.sort(function (a, b) { return a.rank - b.rank || a.order - b.order; });
    return hits.slice(0, limit || 200).map(function (h) { return h.entry; });
  }

  function show(box, out, index, base) {
    var hits = search(index, box.value, 200);
    out.innerHTML = "";
    hits.forEach(function (e) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = (base || "") + e.page + "#" + e.anchor;
      a.textContent = e.ref + (e.value ? " \u2014 " + e.value : "");
      li.appendChild(a);
      var note = document.createElement("small");
      note.textContent = " " + e.kind + (e.description ? ", " + e.description : "") + (e.source ? ", from " + e.source : "");
      li.appendChild(note);
      out.appendChild(li);
    });
    if (box.value.trim() && !hits.length) out.innerHTML = "<li>no match</li>";
  }

  var api = { search: search, terms: terms, show: show };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.a2kCatalogue = api;
})(this);
