/* top as one self-contained HTML page: a bar chart (inline SVG) of the
 * types retaining most, a table of every type with objects, bytes and
 * retained bytes that a search box filters and the column headers sort,
 * and for each charted type the shortest retention path of its
 * largest-retaining object, in a <details>; diff's page is the same with
 * growth for retention.  Inline CSS and script only:
 * no network, no fonts, so the file can be mailed or attached to a bug.
 *
 * The script reads "#q=TEXT&sort=KEY" from the URL fragment at load (a
 * link to a filtered view; also how the tests drive it), and when it has
 * run sets data-ready on <html> and data-shown (rows shown) on #count.
 * Every name is HTML-escaped: type names can hold <, & and quotes. */
#include "report_impl.h"
#include "snapshot_format.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hops shown at each end of a longer retention path. */
#define PATH_ENDS 20

/* Text or attribute value, escaped; control bytes as character refs. */
static void esc(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(f, "&#xfffd;"); /* not allowed in HTML text */
      else
        fputc(*p, f);
    }
  }
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}"
    "table{border-collapse:collapse}th,td{padding:2px 10px;"
    "border-bottom:1px solid #ddd}th{cursor:pointer;text-align:left;"
    "background:#f4f4f4;user-select:none}td.n,th.n{text-align:right;"
    "font-variant-numeric:tabular-nums}th[data-dir=desc]::after{"
    "content:' \\25BC'}th[data-dir=asc]::after{content:' \\25B2'}"
    "tfoot td{font-weight:bold}#q{margin:0 1em .5em 0;padding:3px;width:20em}"
    "svg text{font:12px system-ui,sans-serif}svg .bar{fill:#4a7fc1}"
    "details{margin:.3em 0}summary{cursor:pointer}ol{margin:.3em 0}"
    "code{font-size:13px}.note{color:#666;max-width:60em}";

/* Sorting, filtering, the fragment; marks the page as ready. */
static const char script[] =
    "(function(){\n"
    "var tb=document.querySelector('#types tbody');\n"
    "var rows=Array.prototype.slice.call(tb.rows);\n"
    "var q=document.getElementById('q'),count=document.getElementById('count');\n"
    "function filter(){var t=q.value.toLowerCase(),n=0;\n"
    " rows.forEach(function(r){var hide=t!==''&&\n"
    "  r.getAttribute('data-type').toLowerCase().indexOf(t)<0;\n"
    "  if(hide)r.setAttribute('hidden','');else{r.removeAttribute('hidden');n++;}});\n"
    " count.setAttribute('data-shown',n);\n"
    " count.textContent=n+' of '+rows.length+' types';}\n"
    "function sort(key,dir){var ths=document.querySelectorAll('#types th');\n"
    " var col=-1;for(var i=0;i<ths.length;i++){\n"
    "  if(ths[i].getAttribute('data-key')===key){col=i;\n"
    "   ths[i].setAttribute('data-dir',dir);}else ths[i].removeAttribute('data-dir');}\n"
    " if(col<0)return;\n"
    " rows.sort(function(a,b){var x=a.cells[col],y=b.cells[col],c;\n"
    "  if(col===0)c=x.textContent<y.textContent?-1:x.textContent>y.textContent;\n"
    "  else c=Number(x.getAttribute('data-v'))-Number(y.getAttribute('data-v'));\n"
    "  return dir==='asc'?c:-c;});\n"
    " rows.forEach(function(r){tb.appendChild(r);});}\n"
    "Array.prototype.forEach.call(document.querySelectorAll('#types th'),\n"
    " function(th){th.addEventListener('click',function(){\n"
    "  var d=th.getAttribute('data-dir')==='desc'?'asc':'desc';\n"
    "  sort(th.getAttribute('data-key'),d);});});\n"
    "q.addEventListener('input',filter);\n"
    "var h=location.hash.replace(/^#/,'').split('&');\n"
    "h.forEach(function(kv){var i=kv.indexOf('=');if(i<0)return;\n"
    " var k=kv.slice(0,i),v=decodeURIComponent(kv.slice(i+1));\n"
    " if(k==='q')q.value=v;\n"
    " if(k==='sort')sort(v,v==='type'?'asc':'desc');});\n"
    "filter();\n"
    "document.documentElement.setAttribute('data-ready','1');\n"
    "})();\n";

static void path_details(FILE *out, struct preempt_heap_analysis *a,
                         const struct preempt_bfs *b, struct preempt_syms *y,
                         uint32_t o, const uint32_t *chain, size_t n) {
  const struct preempt_snap *s = &a->snap;
  char nb[64], where[1024];
  const struct preempt_snap_object *t = &s->objects[o];
  const struct preempt_snap_root *r = &s->roots[b->via[chain[0]]];
  preempt_heap_root_where(s, y, r, where, sizeof where);
  const char *tn = preempt_heap_type_name(s, t->type, nb, sizeof nb);
  fputs("<details class=\"path\" data-type=\"", out);
  esc(out, tn);
  fputs("\"><summary><b>", out);
  esc(out, tn);
  fprintf(out, "</b>@0x%" PRIx64 " (%" PRIu64 " bytes, retains %" PRIu64
          "): %zu hop%s from a %s root</summary>\n<ol>\n<li>",
          t->addr, t->size, a->dom.retained[o], n, n > 1 ? "s" : "",
          preempt_snap_root_kind_name(r->kind));
  esc(out, preempt_snap_root_kind_name(r->kind));
  fputs(" root ", out);
  esc(out, where);
  fputs("</li>\n", out);
  for (size_t i = 0; i < n; i++) {
    const struct preempt_snap_object *x = &s->objects[chain[i]];
    if (n > 2 * PATH_ENDS + 1 && i == PATH_ENDS) {
      /* A path down a long list: its ends tell the story. */
      fprintf(out, "<li class=\"elided\">&hellip; %zu hops &hellip;</li>\n",
              n - 2 * PATH_ENDS);
      i = n - PATH_ENDS - 1;
      continue;
    }
    fputs("<li>", out);
    if (i) {
      uint64_t e = b->via[chain[i]];
      const char *fld = preempt_heap_field_name(
          s, s->objects[chain[i - 1]].type, s->edge_offset[e]);
      fprintf(out, "via +%" PRIu64, s->edge_offset[e]);
      if (fld) {
        fputs(" (", out);
        esc(out, fld);
        fputs(")", out);
      }
      fputs(" &rarr; ", out);
    }
    fputs("<code>", out);
    esc(out, preempt_heap_type_name(s, x->type, nb, sizeof nb));
    fprintf(out, "@0x%" PRIx64 "</code> %" PRIu64 " bytes</li>\n", x->addr,
            x->size);
  }
  fputs("</ol></details>\n", out);
}

/* Everything up to and including the <h1>: "TITLE NAME[ -> NAME2]". */
static void page_start(FILE *out, const char *title, const char *name,
                       const char *name2) {
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>preempt-heap: ", out);
  esc(out, name);
  if (name2) {
    fputs(" -&gt; ", out);
    esc(out, name2);
  }
  fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n<h1>%s <code>",
          style, title);
  esc(out, name);
  fputs("</code>", out);
  if (name2) {
    fputs(" &rarr; <code>", out);
    esc(out, name2);
    fputs("</code>", out);
  }
  fputs("</h1>\n", out);
}

/* One bar: label, bar of width w scaled by the caller, value. */
static void bar(FILE *out, size_t k, const char *name, double w, int64_t v,
                const char *what) {
  const int LABEL = 300, BAR = 20, GAP = 6;
  size_t yy = GAP + k * (BAR + GAP);
  fputs("<g><title>", out);
  esc(out, name);
  fprintf(out, ": %" PRId64 " bytes %s</title>\n<text x=\"%d\" y=\"%zu\" "
          "text-anchor=\"end\">", v, what, LABEL - 6, yy + BAR - 5);
  esc(out, name);
  fputs("</text><rect class=\"bar\" data-type=\"", out);
  esc(out, name);
  fprintf(out, "\" data-v=\"%" PRId64 "\" x=\"%d\" y=\"%zu\" width=\"%.1f\" "
          "height=\"%d\"/><text x=\"%.1f\" y=\"%zu\">%" PRId64 " B</text>"
          "</g>\n", v, LABEL, yy, w, BAR, LABEL + w + 6, yy + BAR - 5, v);
}

static void chart_start(FILE *out, const char *title, size_t nbars) {
  fprintf(out, "<h2>%s</h2>\n<svg id=\"chart\" xmlns=\"http://www.w3.org/"
          "2000/svg\" width=\"900\" height=\"%zu\" role=\"img\" "
          "aria-label=\"%s\">\n", title, nbars * 26 + 6, title);
}

int preempt_heap_html_top(FILE *out, struct preempt_heap_analysis *a,
                          size_t limit, char *err, size_t errlen) {
  const struct preempt_snap *s = &a->snap;
  const struct preempt_dom *d = &a->dom;
  size_t nrows;
  struct preempt_heap_typerow *rows = preempt_heap_type_rows(a, &nrows);
  /* Per type: its reachable object retaining most (lowest address among
   * equals), for the paths. */
  uint32_t *best = malloc((s->ntypes ? s->ntypes : 1) * sizeof *best);
  const struct preempt_bfs *b = preempt_heap_bfs(a);
  if (!rows || !best || !b) {
    free(rows), free(best);
    return preempt_heap_fail(err, errlen, "%s: out of memory", a->name);
  }
  struct preempt_syms *y = preempt_heap_syms(a);
  for (size_t t = 0; t < s->ntypes; t++)
    best[t] = PREEMPT_SNAP_NONE;
  for (size_t i = 0; i < s->nobjects; i++) {
    uint32_t t = s->objects[i].type;
    if (d->idom[i] != PREEMPT_DOM_UNREACHED &&
        (best[t] == PREEMPT_SNAP_NONE || d->retained[i] > d->retained[best[t]]))
      best[t] = (uint32_t)i;
  }
  uint64_t tobj = 0, tbytes = 0, all = 0;
  for (size_t k = 0; k < nrows; k++)
    tobj += rows[k].objects, tbytes += rows[k].bytes;
  for (size_t i = 0; i < s->nobjects; i++)
    all += s->objects[i].size;
  size_t shown = nrows < limit ? nrows : limit;
  char nb[64];

  page_start(out, "Heap snapshot", a->name, NULL);
  fprintf(out, "<p class=\"summary\">%zu objects, %" PRIu64
          " bytes, %zu edges, %zu roots", s->nobjects, all, s->nedges,
          s->nroots);
  if (s->info.present) {
    fprintf(out, "; pid %" PRIu64 ", pause %.3f ms", s->info.pid,
            s->info.pause_ns / 1e6);
    if (s->info.reason[0]) {
      fputs(", reason: ", out);
      esc(out, s->info.reason);
    }
  }
  if (d->nunreached)
    fprintf(out, "; %zu objects (%" PRIu64 " bytes) unreachable from any "
            "root, left out", d->nunreached, d->unreached_bytes);
  fputs(".</p>\n", out);

  /* The chart: one bar per charted type, scaled to the largest. */
  uint64_t max = shown ? rows[0].retained : 0;
  chart_start(out, "Largest retained types", shown);
  for (size_t k = 0; k < shown; k++)
    bar(out, k, preempt_heap_type_name(s, rows[k].type, nb, sizeof nb),
        max ? (double)rows[k].retained / (double)max * 480 : 0,
        (int64_t)rows[k].retained, "retained");
  fputs("</svg>\n", out);

  /* The table: every type. */
  fputs("<h2>Types</h2>\n<input id=\"q\" type=\"search\" placeholder=\""
        "filter types\" aria-label=\"filter types\"><span id=\"count\">"
        "</span>\n<table id=\"types\"><thead><tr><th data-key=\"type\">Type"
        "</th><th class=\"n\" data-key=\"objects\">Objects</th><th class=\"n\""
        " data-key=\"bytes\">Bytes</th><th class=\"n\" data-key=\"retained\""
        " data-dir=\"desc\">Retained</th></tr></thead>\n<tbody>\n", out);
  for (size_t k = 0; k < nrows; k++) {
    const struct preempt_heap_typerow *r = &rows[k];
    const char *tn = preempt_heap_type_name(s, r->type, nb, sizeof nb);
    fputs("<tr data-type=\"", out);
    esc(out, tn);
    fputs("\"><td>", out);
    esc(out, tn);
    fprintf(out, "</td><td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64
            "</td><td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td>"
            "<td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td></tr>\n",
            r->objects, r->objects, r->bytes, r->bytes, r->retained,
            r->retained);
  }
  fprintf(out, "</tbody>\n<tfoot><tr><td>total</td><td class=\"n\">%" PRIu64
          "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
          "</td></tr></tfoot></table>\n", tobj, tbytes, d->reached_bytes);

  /* The paths of the charted types. */
  int rc = 0;
  fputs("<h2>Retention paths</h2>\n<p class=\"note\">The shortest path from a "
        "root to each charted type's object retaining most.</p>\n", out);
  for (size_t k = 0; k < shown && !rc; k++) {
    uint32_t o = best[rows[k].type];
    size_t n;
    uint32_t *chain = preempt_heap_chain(a, b, o, &n);
    if (!chain) {
      rc = preempt_heap_fail(err, errlen, "%s: out of memory", a->name);
      break;
    }
    path_details(out, a, b, y, o, chain, n);
    free(chain);
  }
  fputs("<p class=\"note\">Retained: bytes only reachable through the type's "
        "objects (their dominator subtrees), each object counted once per "
        "type; an object reachable from several roots or owners is retained "
        "by their common dominator, possibly the super-root, and then by no "
        "type. Click a column to sort; the page also reads "
        "<code>#q=TEXT&amp;sort=objects</code> from its address.</p>\n",
        out);
  fprintf(out, "<script>\n%s</script>\n</body></html>\n", script);
  free(rows);
  free(best);
  return rc;
}

/* diff as a page: growth chart, the changed types' table, new objects'
 * paths. */
int preempt_heap_html_diff(FILE *out, struct preempt_heap_analysis *old,
                           struct preempt_heap_analysis *new_,
                           const struct preempt_heap_diff *df, size_t limit,
                           char *err, size_t errlen) {
  const struct preempt_bfs *b = preempt_heap_bfs(new_);
  if (!b)
    return preempt_heap_fail(err, errlen, "%s: out of memory", new_->name);
  struct preempt_syms *y = preempt_heap_syms(new_);
  const int64_t(*tot)[2] = df->total;
  page_start(out, "Heap growth", old->name, new_->name);
  fprintf(out, "<p class=\"summary\">%+" PRId64 " objects (%" PRId64 " to %"
          PRId64 "), %+" PRId64 " bytes (%" PRId64 " to %" PRId64 ").</p>\n",
          tot[1][0] - tot[0][0], tot[0][0], tot[1][0], tot[1][1] - tot[0][1],
          tot[0][1], tot[1][1]);
  /* Bars for the types that grew, scaled to the fastest. */
  size_t ngrew = 0;
  while (ngrew < df->nrows && ngrew < limit &&
         df->rows[ngrew].bytes[1] > df->rows[ngrew].bytes[0])
    ngrew++;
  int64_t max = ngrew ? df->rows[0].bytes[1] - df->rows[0].bytes[0] : 0;
  chart_start(out, "Fastest growing types", ngrew);
  for (size_t k = 0; k < ngrew; k++) {
    int64_t g = df->rows[k].bytes[1] - df->rows[k].bytes[0];
    bar(out, k, df->rows[k].name, (double)g / (double)max * 480, g, "more");
  }
  fputs("</svg>\n<h2>Changed types</h2>\n<input id=\"q\" type=\"search\" "
        "placeholder=\"filter types\" aria-label=\"filter types\"><span "
        "id=\"count\"></span>\n<table id=\"types\"><thead><tr>"
        "<th data-key=\"type\">Type</th>"
        "<th class=\"n\" data-key=\"objects\">Objects &Delta;</th>"
        "<th class=\"n\" data-key=\"objects_old\">Old</th>"
        "<th class=\"n\" data-key=\"objects_new\">New</th>"
        "<th class=\"n\" data-key=\"bytes\" data-dir=\"desc\">Bytes &Delta;</th>"
        "<th class=\"n\" data-key=\"bytes_old\">Old</th>"
        "<th class=\"n\" data-key=\"bytes_new\">New</th>"
        "</tr></thead>\n<tbody>\n", out);
  for (size_t i = 0; i < df->nrows; i++) {
    const struct preempt_heap_diffrow *r = &df->rows[i];
    int64_t v[6] = {r->objects[1] - r->objects[0], r->objects[0],
                    r->objects[1], r->bytes[1] - r->bytes[0], r->bytes[0],
                    r->bytes[1]};
    fputs("<tr data-type=\"", out);
    esc(out, r->name);
    fputs("\"><td>", out);
    esc(out, r->name);
    fputs("</td>", out);
    for (int c = 0; c < 6; c++)
      fprintf(out, c % 3 ? "<td class=\"n\" data-v=\"%" PRId64 "\">%" PRId64
                           "</td>"
                         : "<td class=\"n\" data-v=\"%" PRId64 "\">%+" PRId64
                           "</td>",
              v[c], v[c]);
    fputs("</tr>\n", out);
  }
  fprintf(out, "</tbody>\n<tfoot><tr><td>total</td><td class=\"n\">%+" PRId64
          "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64
          "</td><td class=\"n\">%+" PRId64 "</td><td class=\"n\">%" PRId64
          "</td><td class=\"n\">%" PRId64 "</td></tr></tfoot></table>\n",
          tot[1][0] - tot[0][0], tot[0][0], tot[1][0], tot[1][1] - tot[0][1],
          tot[0][1], tot[1][1]);
  fputs("<h2>Why new objects are alive</h2>\n<p class=\"note\">For each of "
        "the fastest growing types, the shortest path from a root to its new "
        "object (an address not in the old snapshot) retaining most.</p>\n",
        out);
  for (size_t i = 0; i < df->npath; i++) {
    size_t n;
    uint32_t *chain = preempt_heap_chain(new_, b, df->pathobj[i], &n);
    if (!chain)
      return preempt_heap_fail(err, errlen, "%s: out of memory", new_->name);
    path_details(out, new_, b, y, df->pathobj[i], chain, n);
    free(chain);
  }
  fprintf(out, "<script>\n%s</script>\n</body></html>\n", script);
  return 0;
}
