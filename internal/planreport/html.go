package planreport

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"strings"
)

// pageCSS and pageJS are inlined into the page; the Content-Security-Policy allows exactly these
// two (by hash) and nothing else, so the page cannot load anything from the network.
const pageCSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .25rem; }
p.desc { margin: 0 0 .5rem; color: #59636e; }
table { border-collapse: collapse; margin: .25rem 0 1rem; }
th, td { border: 1px solid #d1d9e0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #eff2f5; padding: 0 .2rem; border-radius: 3px; }
.action { font-weight: 600; white-space: nowrap; }
.widening .action { color: #9a6700; }
.removing .action { color: #cf222e; }
#filters { position: sticky; top: 0; background: #fff; padding: .5rem 0; border-bottom: 1px solid #d1d9e0; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
#filters label { display: flex; gap: .35rem; align-items: center; }
#shown { color: #59636e; }
tr[hidden], section[hidden], button[hidden] { display: none; }
button.more { margin: 0 0 1rem; }
.notes li { margin: .2rem 0; }
td.changes { min-width: 16rem; }
`

const pageJS = `
(function () {
  var action = document.getElementById("f-action");
  var connection = document.getElementById("f-connection");
  var user = document.getElementById("f-user");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.rows"));
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (params.has("action")) action.value = params.get("action");
    if (params.has("connection")) connection.value = params.get("connection");
    if (params.has("user")) user.value = params.get("user");
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (action.value) params.set("action", action.value);
    if (connection.value) params.set("connection", connection.value);
    if (user.value) params.set("user", user.value);
    var h = params.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }
  // A browser lays out a table of tens of thousands of rows slowly: each section shows its
  // first pageRows matching rows until "Show all" is pressed. Filters always search every row.
  var pageRows = parseInt(document.body.dataset.pageRows, 10) || 1000;
  function apply() {
    var a = action.value, c = connection.value, q = user.value.trim().toLowerCase();
    var matching = 0;
    sections.forEach(function (s) {
      var n = 0, all = s.dataset.all === "yes";
      s.querySelectorAll("tr.row").forEach(function (tr) {
        var ok = (!a || tr.dataset.action === a) && (!c || tr.dataset.connection === c) &&
          (!q || tr.dataset.user.toLowerCase().indexOf(q) !== -1);
        if (ok) n++;
        tr.hidden = !ok || (!all && n > pageRows);
      });
      matching += n;
      var more = s.querySelector("button.more");
      more.hidden = all || n <= pageRows;
      more.textContent = "Show all " + n + " rows (" + (n - pageRows) + " more)";
      s.querySelector(".shown-count").textContent = n;
      s.hidden = n === 0;
    });
    shown.textContent = matching + " of " + rows.length + " rows match";
    document.body.dataset.filtered = a || c || q ? "yes" : "no";
  }
  sections.forEach(function (s) {
    s.querySelector("button.more").addEventListener("click", function () { s.dataset.all = "yes"; apply(); });
  });
  [action, connection, user].forEach(function (el) {
    el.addEventListener("input", function () { apply(); writeHash(); });
  });
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
})();
`

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var esc = html.EscapeString

// DefaultHTMLPageRows is how many rows of a section the page lays out before "Show all".
const DefaultHTMLPageRows = 1000

// HTMLOptions tune WriteHTML.
type HTMLOptions struct {
	// PageRows: each section shows this many matching rows until "Show all" is pressed (every
	// row is in the page and every filter searches them all). 0 means DefaultHTMLPageRows.
	PageRows int
}

// WriteHTML writes the review as one self-contained page: the same sections as the Markdown,
// every row (nothing is left out), filterable by action and connection and searchable by user.
// The filter state is kept in the URL fragment (#action=enable&connection=...&user=...), so a
// filtered view can be linked.
func (r *Report) WriteHTML(w io.Writer, opts HTMLOptions) error {
	pageRows := opts.PageRows
	if pageRows <= 0 {
		pageRows = DefaultHTMLPageRows
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src %s; script-src %s">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PingID plan review</title>
<style>%s</style>
</head>
<body data-page-rows="%d">
<h1>PingID plan review</h1>
`, cspHash(pageCSS), cspHash(pageJS), pageCSS, pageRows)
	total := r.TotalRows()
	p("<p>%s plan (format %s): <strong>%d user %s</strong> in %d PingID %s.</p>\n",
		esc(r.CLIText()), esc(r.FormatVersion), total, plural(total, "change", "changes"), len(r.Resources), plural(len(r.Resources), "resource", "resources"))

	actions := sortedActions(r.Counts)
	if len(actions) > 0 {
		p("<table id=\"counts\"><thead><tr><th>Action</th><th>Users</th><th>Section</th></tr></thead><tbody>\n")
		for _, a := range actions {
			p("<tr><td class=\"action\">%s</td><td class=\"num\">%d</td><td>%s</td></tr>\n", a, r.Counts[a], esc(r.sectionTitle(a)))
		}
		p("</tbody></table>\n")
	} else {
		p("<p>No PingID user changes.</p>\n")
	}

	p("<h2>By connection</h2>\n<table id=\"by-connection\"><thead><tr><th>Connection</th><th>Terraform action</th><th>Users before → after</th>")
	for _, a := range actions {
		p("<th>%s</th>", a)
	}
	p("</tr></thead><tbody>\n")
	for _, res := range r.Resources {
		p("<tr><td>%s</td><td>%s</td><td>%s</td>", htmlResourceLabel(res), esc(res.PlanAction), esc(usersBeforeAfter(res)))
		for _, a := range actions {
			p("<td class=\"num\">%d</td>", res.Counts[a])
		}
		p("</tr>\n")
	}
	p("</tbody></table>\n")

	first := true
	for _, res := range r.Resources {
		if res.Type != TypeConnection {
			continue
		}
		if first {
			p("<h2>Brakes</h2>\n<p class=\"desc\">Deprovisions (disables, deletes, links that suspend) planned against each limit; a plan over a limit fails, so the headroom is what the next plan may add.</p>\n")
			p("<table id=\"brakes\"><thead><tr><th>Connection</th><th>Deprovisions planned</th><th>max_deprovisions</th><th>max_deprovisions_percent</th></tr></thead><tbody>\n")
			first = false
		}
		p("<tr><td><code>%s</code></td><td class=\"num\">%d</td><td>%s</td><td>%s</td></tr>\n", esc(res.Name), res.Deprovisions,
			esc(BrakeText(res, "max_deprovisions")), esc(BrakeText(res, "max_deprovisions_percent")))
	}
	if !first {
		p("</tbody></table>\n")
	}

	if total > 0 {
		p("<div id=\"filters\">\n<label>Action <select id=\"f-action\"><option value=\"\">all</option>")
		for _, a := range actions {
			p("<option value=\"%s\">%s</option>", a, a)
		}
		p("</select></label>\n<label>Connection <select id=\"f-connection\"><option value=\"\">all</option>")
		for _, res := range r.Resources {
			if res.Counts == nil || len(sortedActions(res.Counts)) == 0 {
				continue
			}
			p("<option value=\"%s\">%s</option>", esc(res.Address), esc(connectionOption(res)))
		}
		p("</select></label>\n<label>User <input id=\"f-user\" type=\"search\" placeholder=\"part of a username\"></label>\n<span id=\"shown\"></span>\n</div>\n")
	}

	for _, s := range r.Sections {
		if len(s.Rows) == 0 {
			continue
		}
		p("<section class=\"rows %s\" id=\"section-%s\">\n<h2>%s (<span class=\"shown-count\">%d</span> of %d)</h2>\n<p class=\"desc\">%s</p>\n",
			s.ID, s.ID, esc(s.Title), len(s.Rows), len(s.Rows), esc(s.Description))
		p("<table><thead><tr><th>User</th><th>Connection</th><th>Action</th><th>Reason (source_state)</th><th>Changes</th></tr></thead><tbody>\n")
		// Rows past the first pageRows start hidden, so even a page of 50 000 rows opens fast;
		// the script keeps it that way and shows them on "Show all".
		for i, row := range s.Rows {
			writeHTMLRow(bw, row, i >= pageRows)
		}
		p("</tbody></table>\n<button type=\"button\" class=\"more\"%s>Show all %d rows (%d more)</button>\n</section>\n",
			hiddenAttr(len(s.Rows) <= pageRows), len(s.Rows), max(len(s.Rows)-pageRows, 0))
	}

	var notes []string
	for _, res := range r.Resources {
		for _, n := range res.Notes {
			notes = append(notes, "<code>"+esc(res.Name)+"</code>: "+esc(n))
		}
	}
	for _, n := range r.Notes {
		notes = append(notes, esc(n))
	}
	if len(notes) > 0 {
		p("<h2>Notes</h2>\n<ul class=\"notes\">\n")
		for _, n := range notes {
			p("<li>%s</li>\n", n)
		}
		p("</ul>\n")
	}
	if total > 0 {
		p("<script>%s</script>\n", pageJS)
	}
	p("</body>\n</html>\n")
	return bw.Flush()
}

func htmlResourceLabel(res *Resource) string {
	if res.Type == TypeMappedUser {
		return "<code>" + esc(res.Address) + "</code>"
	}
	return "<code>" + esc(res.Name) + "</code> (" + esc(res.Address) + ")"
}

func connectionOption(res *Resource) string {
	if res.Type == TypeMappedUser || res.Name == res.Address {
		return res.Address
	}
	return res.Name + " (" + res.Address + ")"
}

func htmlCode(s string) string {
	if s == "" {
		return `<code>""</code>`
	}
	return "<code>" + esc(visibleText(s)) + "</code>"
}

func hiddenAttr(hidden bool) string {
	if hidden {
		return " hidden"
	}
	return ""
}

func writeHTMLRow(w *bufio.Writer, row Row, hidden bool) {
	reason := esc(visibleText(row.Reason))
	if row.SourceState != "" {
		reason += " (" + esc(row.SourceState) + ")"
	}
	changes := make([]string, 0, len(row.Changes))
	for _, ch := range row.Changes {
		changes = append(changes, esc(ch.Field)+changeText(ch, row.NewUser, htmlCode))
	}
	user := visibleText(row.User)
	fmt.Fprintf(w, "<tr class=\"row\" data-action=\"%s\" data-connection=\"%s\" data-user=\"%s\"%s><td><code>%s</code></td><td><code>%s</code></td><td class=\"action\">%s</td><td>%s</td><td class=\"changes\">%s</td></tr>\n",
		row.Action, esc(row.Resource), esc(user), hiddenAttr(hidden), esc(user), esc(row.Connection), row.Action, reason, strings.Join(changes, "<br>"))
}
