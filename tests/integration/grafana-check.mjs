// Checks a Grafana dashboard's PromQL against what a running headcount
// exports on /metrics: every metric a query names is a family the server
// declares (a histogram's _bucket/_sum/_count included), and every label a
// query matches on or aggregates by is one of that family's labels (instance
// and job are Prometheus's own, le a histogram's). Returns the problems, one
// line each; none means the dashboard fits the server.

// The families of a text-format exposition: name -> { type, labels }.
export function parseExposition(text) {
  const families = new Map();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\w+) (\w+)$/.exec(line);
    if (type) {
      families.set(type[1], { type: type[2], labels: new Set(type[2] === 'histogram' ? ['le'] : []) });
      continue;
    }
    const sample = /^(\w+)\{([^}]*)\}/.exec(line);
    if (!sample) continue;
    const family = families.get(sample[1]) ?? families.get(sample[1].replace(/_(bucket|sum|count)$/, ''));
    for (const m of sample[2].matchAll(/(\w+)="/g)) family?.labels.add(m[1]);
  }
  return families;
}

// Every PromQL expression of the dashboard: panel targets and query variables.
export function dashboardQueries(dashboard) {
  const queries = [];
  for (const panel of dashboard.panels ?? []) {
    for (const target of panel.targets ?? []) queries.push({ where: `panel "${panel.title}"`, expr: target.expr });
  }
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    // label_values(metric{...}, label): the metric and the label it lists.
    const expr = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(expr);
    queries.push({ where: `variable "${v.name}"`, expr: m ? `${m[1]} by (${m[2]})` : expr });
  }
  return queries;
}

const PROMETHEUS_LABELS = new Set(['instance', 'job']);

export function checkDashboard(dashboard, expositionText) {
  const families = parseExposition(expositionText);
  const problems = [];
  for (const { where, expr } of dashboardQueries(dashboard)) {
    if (!expr) { problems.push(`${where}: no query`); continue; }
    const used = new Set();
    for (const [, name] of expr.matchAll(/\b(headcount_\w+)/g)) {
      const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      if (!families.has(family) || (family !== name && families.get(family).type !== 'histogram')) {
        problems.push(`${where}: ${name} is not a metric the server exports`);
      } else {
        used.add(family);
      }
    }
    if (used.size === 0) problems.push(`${where}: names no headcount metric: ${expr}`);
    const labels = new Set();
    for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
      for (const l of list.split(',').map((s) => s.trim()).filter(Boolean)) labels.add(l);
    }
    for (const [, matchers] of expr.matchAll(/headcount_\w+\{([^}]*)\}/g)) {
      for (const [, l] of matchers.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.add(l);
    }
    for (const label of labels) {
      if (PROMETHEUS_LABELS.has(label)) continue;
      if (![...used].some((f) => families.get(f).labels.has(label))) {
        problems.push(`${where}: label "${label}" is on none of ${[...used].join(', ')}`);
      }
    }
  }
  return problems;
}
