/* top as one self-contained HTML page: a bar chart (inline SVG) of the
 * types retaining most, a table of every type with objects, bytes and
 * retained bytes that a search box filters and the column headers sort,
 * and for each charted type the shortest retention path of its
 * largest-retaining object, in a <details>.  Inline CSS and script only:
 * no network, no fonts, so the file can be mailed or attached to a bug.
 *
 * The script reads "#q=TEXT&sort=KEY" from the URL fragment at load (a
 * link to a filtered view; also how the tests drive it), and when it has
 * run sets data-ready on <html> and data-shown (rows shown) on #count.
 * Every name is HTML-escaped: type names can hold <, & and quotes. */
#include "report_impl.h"
#include "snapshot_format.h"

#include <inttypes.h>
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

  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>preempt-heap: ", out);
  esc(out, a->name);
  fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n<h1>Heap "
          "snapshot <code>", style);
  esc(out, a->name);
  fprintf(out, "</code></h1>\n<p class=\"summary\">%zu objects, %" PRIu64
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
  const int W = 900, LABEL = 300, BAR = 20, GAP = 6;
  uint64_t max = shown ? rows[0].retained : 0;
  fprintf(out, "<h2>Largest retained types</h2>\n<svg id=\"chart\" "
          "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
          "role=\"img\" aria-label=\"retained bytes per type\">\n", W,
          shown * (BAR + GAP) + GAP);
  for (size_t k = 0; k < shown; k++) {
    const struct preempt_heap_typerow *r = &rows[k];
    const char *tn = preempt_heap_type_name(s, r->type, nb, sizeof nb);
    double w = max ? (double)r->retained / (double)max * (W - LABEL - 120) : 0;
    size_t yy = GAP + k * (BAR + GAP);
    fputs("<g><title>", out);
    esc(out, tn);
    fprintf(out, ": %" PRIu64 " bytes retained</title>\n<text x=\"%d\" "
            "y=\"%zu\" text-anchor=\"end\">", r->retained, LABEL - 6,
            yy + BAR - 5);
    esc(out, tn);
    fprintf(out, "</text><rect class=\"bar\" data-type=\"");
    esc(out, tn);
    fprintf(out, "\" data-v=\"%" PRIu64 "\" x=\"%d\" y=\"%zu\" width=\"%.1f\" "
            "height=\"%d\"/><text x=\"%.1f\" y=\"%zu\">%" PRIu64 " B</text>"
            "</g>\n", r->retained, LABEL, yy, w, BAR, LABEL + w + 6,
            yy + BAR - 5, r->retained);
  }
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
