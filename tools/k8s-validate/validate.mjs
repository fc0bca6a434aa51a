// Offline checks of the rendered Kubernetes manifests (scripts/test-deploy.sh runs this on the
// output of `kubectl kustomize` for each variant).
//
//   node validate.mjs --env-example .env.example [--measured-rss-kib N] [--expect Kind[:command],...]
//                     [--self-test] FILE...
//
// deploy/k8s/backfill holds only its Job and claim (it is applied beside an installed variant):
// validate it concatenated with a variant's rendering. --self-test needs such a rendering with
// the Deployment and the backfill Job.
//
// 1. Schema: every document is validated against the Kubernetes API schema of its
//    apiVersion/kind (kubernetes-models, generated from the Kubernetes OpenAPI spec; the
//    ServiceMonitor from the prometheus-operator CRD). An unknown kind is an error, not a skip.
// 2. Contract: the probes, security context, grace period, volumes, secrets and scrape wiring
//    agree with the daemon's configuration (the ConfigMap in the same rendering, and the
//    variable list in .env.example). The backfill Job (deploy/k8s/backfill, validated together
//    with the variant it is applied beside) also gets its deadline and claim size checked
//    against what its coin selection costs at the plan's rate limit.
// --self-test breaks a copy of the manifests in known ways and fails unless every break is
// caught, so a check that can never fail does not go unnoticed.
// Exit status: 0 when everything holds, 1 otherwise (every problem is printed).
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

// apiVersion/kind -> module that exports the model class (its validate() throws on a schema error).
const MODELS = {
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "Secret"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "v1/ServiceAccount": ["kubernetes-models/v1/ServiceAccount", "ServiceAccount"],
  "v1/PersistentVolumeClaim": ["kubernetes-models/v1/PersistentVolumeClaim", "PersistentVolumeClaim"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment"],
  "batch/v1/Job": ["kubernetes-models/batch/v1/Job", "Job"],
  "batch/v1/CronJob": ["kubernetes-models/batch/v1/CronJob", "CronJob"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "PodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "NetworkPolicy"],
  "monitoring.coreos.com/v1/ServiceMonitor": [
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
    "ServiceMonitor",
  ],
};

async function schemaProblems(doc) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const entry = MODELS[key];
  if (!entry) return [`${key}: no schema known for this kind (add it to MODELS)`];
  const mod = await import(entry[0]);
  try {
    new mod[entry[1]](structuredClone(doc)).validate();
    return [];
  } catch (e) {
    const details = (e.errors || []).map((x) => `${x.instancePath || "/"} ${x.message}`).join("; ");
    return [`schema: ${details || e.message}`];
  }
}

// "10s", "500ms", "5m", "1h" or plain seconds, as the daemon accepts them -> seconds.
function durationSeconds(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (!m) throw new Error(`cannot parse duration ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  return { ms: n / 1000, s: n, m: n * 60, h: n * 3600, undefined: n }[m[2]];
}

function quantityBytes(q) {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) throw new Error(`cannot parse quantity ${q}`);
  const f = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (f[m[2]] || 1);
}

function quantityCpu(q) {
  const s = String(q);
  return s.endsWith("m") ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

function envExampleNames(file) {
  const names = new Set();
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

// What one `coingecko-etl backfill` run costs, from its settings (the Job's environment over the
// ConfigMap) and flags, as internal/history/chunk_plan.cpp plans it: per coin and currency one
// hourly chunk (the last 88 days and today; provisional, so every run fetches it again) and
// daily chunks of at most 364 days for the rest; public and demo keys reach 365 days back.
// ~103 bytes per point of a market_chart body (timestamp, price, market cap, volume), measured
// on the market_chart fixtures (1d, 30d, 90d daily: 102-103 bytes).
const PLAN_RATE = { public: 5, demo: 30, pro: 500 };
const BYTES_PER_POINT = 103;
function backfillEstimate(env, args) {
  const flag = (name) => {
    for (let i = 0; i < args.length; i++) {
      if (args[i] === name) return args[i + 1];
      if (args[i].startsWith(name + "=")) return args[i].slice(name.length + 1);
    }
    return undefined;
  };
  const coinsText = String(flag("--coins") ?? env.BACKFILL_COINS ?? "top:10").trim();
  const top = /^top:(\d+)$/.exec(coinsText);
  const coins = top ? Number(top[1]) : coinsText.split(",").filter((x) => x.trim()).length;
  const currencies = String(flag("--vs") ?? env.VS_CURRENCY ?? "usd").split(",").filter((x) => x.trim()).length;
  let days = Number(flag("--days") ?? env.BACKFILL_DAYS ?? 365);
  const from = flag("--from");
  if (from) days = Math.ceil((Date.parse(flag("--to") ?? new Date().toISOString().slice(0, 10)) - Date.parse(from)) / 864e5) + 1;
  const keyed = Boolean(env.COINGECKO_API_KEY_FILE || env.COINGECKO_API_KEY);
  const plan = String(env.COINGECKO_API_PLAN || (keyed ? "demo" : "public")).toLowerCase();
  const rate = Number(env.RATE_LIMIT_PER_MINUTE) || PLAN_RATE[plan] || PLAN_RATE.public;
  const reach = plan === "pro" ? days : Math.min(days, 365);
  const dailyDays = Math.max(0, reach - 88);
  const pairs = coins * currencies;
  const chunksPerPair = 1 + Math.ceil(dailyDays / 364);
  const hourlyBytes = Math.min(reach, 89) * 24 * BYTES_PER_POINT;
  return {
    coins, currencies, days, plan, rate, pairs, chunksPerPair,
    firstCalls: pairs * chunksPerPair + (top ? 1 : 0),
    retryCalls: pairs, // the open day's chunks, again
    firstBytes: pairs * (dailyDays * BYTES_PER_POINT + hourlyBytes),
    retryBytes: pairs * hourlyBytes,
  };
}

const matches = (selector, labels) =>
  Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);

// Contract checks for one rendering (all documents of one kustomize variant).
function contractProblems(docs, opts) {
  const problems = [];
  const fail = (msg) => problems.push(msg);
  const byKind = (kind) => docs.filter((d) => d.kind === kind);

  const configMaps = byKind("ConfigMap");
  if (configMaps.length !== 1) fail(`expected exactly one ConfigMap, found ${configMaps.length}`);
  const config = configMaps[0]?.data || {};
  for (const name of Object.keys(config)) {
    if (!opts.knownVariables.has(name)) fail(`ConfigMap: ${name} is not a coingecko-etl setting (.env.example)`);
  }
  for (const secretName of ["POSTGRES_PASSWORD", "COINGECKO_API_KEY", "DATABASE_URL"]) {
    if (secretName in config) fail(`ConfigMap: ${secretName} is a secret; use the *_FILE variant and the Secret`);
  }
  const shutdown = durationSeconds(config.SHUTDOWN_TIMEOUT ?? "10s");
  const httpPort = Number(String(config.HTTP_ADDR ?? "0.0.0.0:8080").split(":").pop());
  const writableDirs = [config.DATA_DIR, config.LOG_DIR].filter(Boolean);
  if (writableDirs.length !== 2) fail("ConfigMap: DATA_DIR and LOG_DIR must be set to the mounted volumes");

  // Every workload: pod spec checks shared by Deployment, Job and CronJob.
  const workloads = [];
  for (const d of byKind("Deployment")) workloads.push([`Deployment/${d.metadata.name}`, d.spec.template, d]);
  for (const j of byKind("Job")) workloads.push([`Job/${j.metadata.name}`, j.spec.template, j]);
  for (const c of byKind("CronJob")) workloads.push([`CronJob/${c.metadata.name}`, c.spec.jobTemplate.spec.template, c]);
  if (workloads.length === 0) fail("no workload rendered");

  for (const [where, template, owner] of workloads) {
    const pod = template.spec;
    const psc = pod.securityContext || {};
    const grace = pod.terminationGracePeriodSeconds ?? 30; // Kubernetes' default
    if (!(grace > shutdown)) fail(`${where}: terminationGracePeriodSeconds ${grace} must exceed SHUTDOWN_TIMEOUT ${shutdown}s`);
    if (pod.automountServiceAccountToken !== false) fail(`${where}: automountServiceAccountToken must be false`);
    if (psc.runAsUser === 0) fail(`${where}: runAsUser 0`);
    if (owner.kind !== "Deployment" && !["Never", "OnFailure"].includes(pod.restartPolicy))
      fail(`${where}: restartPolicy must be Never or OnFailure`);
    const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
    if ((pod.initContainers || []).length) fail(`${where}: unexpected initContainers`);
    for (const c of pod.containers) {
      const csc = c.securityContext || {};
      const at = `${where} container ${c.name}`;
      if (!(csc.runAsNonRoot ?? psc.runAsNonRoot)) fail(`${at}: runAsNonRoot must be true`);
      if (csc.runAsUser === 0) fail(`${at}: runAsUser 0`);
      if (csc.readOnlyRootFilesystem !== true) fail(`${at}: readOnlyRootFilesystem must be true`);
      if (csc.allowPrivilegeEscalation !== false) fail(`${at}: allowPrivilegeEscalation must be false`);
      if (!(csc.capabilities?.drop || []).includes("ALL")) fail(`${at}: capabilities.drop must include ALL`);
      if ((csc.capabilities?.add || []).length) fail(`${at}: must not add capabilities`);
      if (csc.privileged) fail(`${at}: privileged`);
      const seccomp = (csc.seccompProfile ?? psc.seccompProfile)?.type;
      if (!["RuntimeDefault", "Localhost"].includes(seccomp)) fail(`${at}: seccompProfile must be RuntimeDefault (or Localhost), not ${seccomp ?? "unset"}`);
      // The image's entrypoint is tini + coingecko-etl: args pick the command, command would replace tini.
      if (c.command) fail(`${at}: command replaces the image's entrypoint (tini); set args instead`);
      for (const kind of ["requests", "limits"]) {
        for (const r of ["cpu", "memory"]) {
          if (!c.resources?.[kind]?.[r]) fail(`${at}: resources.${kind}.${r} missing`);
        }
      }
      const req = c.resources?.requests || {};
      const lim = c.resources?.limits || {};
      if (req.memory && lim.memory && quantityBytes(req.memory) > quantityBytes(lim.memory)) fail(`${at}: memory request above limit`);
      if (req.cpu && lim.cpu && quantityCpu(req.cpu) > quantityCpu(lim.cpu)) fail(`${at}: cpu request above limit`);
      if (opts.measuredRssKiB && lim.memory && (c.args || [])[0] !== "migrate") {
        const measured = opts.measuredRssKiB * 1024;
        if (quantityBytes(lim.memory) < 4 * measured) fail(`${at}: memory limit ${lim.memory} is under 4x the measured peak RSS (${opts.measuredRssKiB} KiB)`);
        if (req.memory && quantityBytes(req.memory) < measured) fail(`${at}: memory request ${req.memory} is under the measured peak RSS (${opts.measuredRssKiB} KiB)`);
      }
      const env = new Map((c.env || []).map((e) => [e.name, e]));
      if (!(c.envFrom || []).some((e) => e.configMapRef?.name === configMaps[0]?.metadata.name)) fail(`${at}: does not load the ConfigMap`);
      // Secrets reach a container only from a Secret: *_FILE into a mounted Secret volume (below),
      // valueFrom.secretKeyRef, or envFrom.secretRef -- never a literal, a ConfigMap or a field.
      for (const [name, e] of env) {
        if (!opts.knownVariables.has(name)) fail(`${at}: env ${name} is not a coingecko-etl setting (.env.example)`);
        if (!/(PASSWORD|API_KEY|DATABASE_URL)$/.test(name)) continue;
        if (e.value) fail(`${at}: secret ${name} given as a literal value`);
        else if (!e.valueFrom?.secretKeyRef) fail(`${at}: secret ${name} must come from a Secret (valueFrom.secretKeyRef)`);
      }
      for (const e of c.envFrom || []) {
        if (e.secretRef) continue;
        if (e.configMapRef && e.configMapRef.name === configMaps[0]?.metadata.name) continue;
        fail(`${at}: envFrom ${JSON.stringify(e)}: only the validated ConfigMap or a secretRef`);
      }
      // Mounts: every mount has a volume; the daemon's writable directories are mounted; the
      // *_FILE secrets point into a mounted Secret volume.
      const mounts = c.volumeMounts || [];
      for (const m of mounts) if (!volumes.has(m.name)) fail(`${at}: volumeMount ${m.name} has no volume`);
      const effectiveEnv = { ...config, ...Object.fromEntries([...env].map(([k, e]) => [k, e.value])) };
      // `migrate` never opens the spool; everything else writes DATA_DIR.
      const written = (c.args || [])[0] === "migrate" ? [effectiveEnv.LOG_DIR, "/tmp"] : [effectiveEnv.DATA_DIR, effectiveEnv.LOG_DIR, "/tmp"];
      for (const dir of written.filter(Boolean)) {
        const m = mounts.find((x) => dir === x.mountPath || dir.startsWith(x.mountPath + "/"));
        if (!m) fail(`${at}: ${dir} is not on a volume (read-only root filesystem)`);
        else if (m.readOnly) fail(`${at}: ${dir} is mounted read-only`);
      }
      for (const name of ["POSTGRES_PASSWORD_FILE", "COINGECKO_API_KEY_FILE"]) {
        const file = effectiveEnv[name];
        if (!file) continue;
        const m = mounts.find((x) => file.startsWith(x.mountPath + "/"));
        if (!m || !volumes.get(m.name)?.secret) fail(`${at}: ${name}=${file} is not inside a mounted Secret`);
      }
      if (!effectiveEnv.POSTGRES_PASSWORD_FILE) fail(`${at}: POSTGRES_PASSWORD_FILE not set`);
      const command = (c.args || [])[0];
      if (owner.kind === "Deployment" && command !== "run") fail(`${at}: args must start with run`);
      if (owner.kind === "Job") {
        // A Job is the migration or the backfill; its component label says which.
        const role = owner.metadata.labels?.["app.kubernetes.io/component"];
        const wanted = { migration: "migrate", backfill: "backfill" }[role];
        if (!wanted) fail(`${at}: a Job must be labelled app.kubernetes.io/component migration or backfill, not ${role}`);
        else if (command !== wanted) fail(`${at}: the ${role} Job must run ${wanted}, not ${command}`);
      }
      if (owner.kind === "CronJob" && command !== "once") fail(`${at}: the CronJob must run once`);
      if (c.image !== pod.containers[0].image) fail(`${at}: mixed images`);
    }
  }

  for (const d of byKind("Deployment")) {
    const where = `Deployment/${d.metadata.name}`;
    const pod = d.spec.template;
    if (!matches(d.spec.selector.matchLabels, pod.metadata.labels)) fail(`${where}: selector does not match its pods`);
    const c = pod.spec.containers[0];
    const port = (c.ports || []).find((p) => p.name === "http");
    if (!port || port.containerPort !== httpPort) fail(`${where}: container port "http" must be ${httpPort} (HTTP_ADDR)`);
    const probePort = (p) => (p === "http" ? port?.containerPort : p);
    const probe = (name, pathWanted) => {
      const p = c[name];
      if (!p?.httpGet) return fail(`${where}: ${name} missing (httpGet)`);
      if (p.httpGet.path !== pathWanted) fail(`${where}: ${name} must GET ${pathWanted}, not ${p.httpGet.path}`);
      if (probePort(p.httpGet.port) !== httpPort) fail(`${where}: ${name} port is not the daemon's ${httpPort}`);
    };
    probe("livenessProbe", "/healthz");
    probe("readinessProbe", "/readyz");
    probe("startupProbe", "/healthz");
    if (d.spec.replicas > 1 && d.spec.strategy?.type !== "Recreate") fail(`${where}: several replicas on one ReadWriteOnce spool`);
    if (d.spec.strategy?.type !== "Recreate") fail(`${where}: strategy must be Recreate (ReadWriteOnce spool)`);
    const ann = pod.metadata.annotations || {};
    if (ann["prometheus.io/scrape"] !== "true") fail(`${where}: prometheus.io/scrape annotation missing`);
    if (Number(ann["prometheus.io/port"]) !== httpPort) fail(`${where}: prometheus.io/port must be ${httpPort}`);
    if (ann["prometheus.io/path"] !== "/metrics") fail(`${where}: prometheus.io/path must be /metrics`);

    const services = byKind("Service").filter((s) => matches(s.spec.selector, pod.metadata.labels));
    if (services.length !== 1) fail(`${where}: expected one Service selecting its pods, found ${services.length}`);
    for (const s of services) {
      const sp = (s.spec.ports || []).find((p) => p.name === "http");
      if (!sp || probePort(sp.targetPort) !== httpPort) fail(`Service/${s.metadata.name}: port http must target ${httpPort}`);
      if (s.spec.publishNotReadyAddresses !== true) fail(`Service/${s.metadata.name}: publishNotReadyAddresses must be true (scrape while not ready)`);
      if (s.metadata.name !== "coingecko-etl") fail(`Service/${s.metadata.name}: must be named coingecko-etl (job label of alerts.yml)`);
    }
    const pdbs = byKind("PodDisruptionBudget").filter((p) => matches(p.spec.selector.matchLabels, pod.metadata.labels));
    if (pdbs.length !== 1) fail(`${where}: expected one PodDisruptionBudget, found ${pdbs.length}`);
    // Ingress: exactly one NetworkPolicy for the pods; it admits the observability port (probes,
    // Prometheus) and leaves egress alone (DNS, CoinGecko, PostgreSQL).
    const policies = byKind("NetworkPolicy").filter((p) => matches(p.spec.podSelector?.matchLabels, pod.metadata.labels));
    if (policies.length !== 1) fail(`${where}: expected one NetworkPolicy selecting its pods, found ${policies.length}`);
    for (const p of policies) {
      const at = `NetworkPolicy/${p.metadata.name}`;
      const types = p.spec.policyTypes || ["Ingress"];
      if (types.includes("Egress")) fail(`${at}: must not restrict Egress (the daemon needs DNS, CoinGecko and PostgreSQL)`);
      const admitsHttp = (p.spec.ingress || []).some((rule) =>
        (rule.ports || []).some((pp) => (pp.protocol || "TCP") === "TCP" && probePort(pp.port) === httpPort));
      if (!admitsHttp) fail(`${at}: must admit ingress to the HTTP port ${httpPort} (probes, Prometheus)`);
    }
    for (const s of byKind("ServiceMonitor")) {
      const svc = services.find((x) => matches(s.spec.selector.matchLabels, x.metadata.labels));
      if (!svc) fail(`ServiceMonitor/${s.metadata.name}: selects no Service of the Deployment`);
      for (const e of s.spec.endpoints) {
        if (!svc?.spec.ports.some((p) => p.name === e.port)) fail(`ServiceMonitor/${s.metadata.name}: endpoint port ${e.port} not on the Service`);
        if ((e.path || "/metrics") !== "/metrics") fail(`ServiceMonitor/${s.metadata.name}: path must be /metrics`);
      }
    }
  }
  for (const c of byKind("CronJob")) {
    if (c.spec.concurrencyPolicy !== "Forbid") fail(`CronJob/${c.metadata.name}: concurrencyPolicy must be Forbid (one pod on the spool)`);
  }
  problems.push(...backfillProblems(docs, workloads, config, opts.notes));
  if (opts.expect) {
    // "Kind" or "Kind:command" (a workload of that kind whose container runs that command).
    const commandOf = (w) => ((w.spec.jobTemplate?.spec ?? w.spec).template?.spec.containers[0].args || [])[0];
    for (const token of opts.expect) {
      const [kind, command] = token.split(":");
      if (!byKind(kind).some((d) => !command || commandOf(d) === command)) fail(`expected a ${token} in this rendering`);
    }
  }
  return problems;
}

// The backfill Job: bounded retries, a finite lifetime, a deadline its selection can meet at
// the plan's rate limit, and raw history bodies on a claim of its own that can hold a run.
function backfillProblems(docs, workloads, config, notes) {
  const problems = [];
  const fail = (msg) => problems.push(msg);
  const claimsOf = (pod) => (pod.volumes || []).filter((v) => v.persistentVolumeClaim).map((v) => v.persistentVolumeClaim.claimName);
  for (const [where, template, job] of workloads) {
    const c = template.spec.containers[0];
    if (job.kind !== "Job" || (c.args || [])[0] !== "backfill") continue;
    const spec = job.spec;
    const pod = template.spec;
    if (!(Number.isInteger(spec.backoffLimit) && spec.backoffLimit >= 0 && spec.backoffLimit <= 6))
      fail(`${where}: backoffLimit must be set, 0 to 6 (every retry fetches the open day's chunks again)`);
    if (!Number.isInteger(spec.ttlSecondsAfterFinished)) fail(`${where}: ttlSecondsAfterFinished must be set (a finished Job blocks the next apply)`);
    if (spec.podFailurePolicy && pod.restartPolicy !== "Never") fail(`${where}: podFailurePolicy needs restartPolicy Never`);
    const env = { ...config };
    for (const e of c.env || []) if (e.value !== undefined) env[e.name] = e.value;
    const est = backfillEstimate(env, (c.args || []).slice(1));
    if (!(est.coins > 0 && est.currencies > 0 && est.days > 0)) {
      fail(`${where}: cannot tell what it backfills (coins ${est.coins}, currencies ${est.currencies}, days ${est.days})`);
      continue;
    }
    const attempts = Number.isInteger(spec.backoffLimit) ? spec.backoffLimit : 0;
    const calls = est.firstCalls + attempts * est.retryCalls;
    const needSeconds = Math.ceil((calls / est.rate) * 60 * 1.1); // +10%: HTTP retries, back-off, start-up
    const what = `${est.coins} coin(s) x ${est.currencies} currency(ies) x ${est.days} d = ${est.firstCalls} calls + ${attempts} retries x ${est.retryCalls}, at ${est.rate}/min (${est.plan})`;
    if (!Number.isInteger(spec.activeDeadlineSeconds)) fail(`${where}: activeDeadlineSeconds must be set (${what}: >= ${needSeconds}s)`);
    else if (spec.activeDeadlineSeconds < needSeconds)
      fail(`${where}: activeDeadlineSeconds ${spec.activeDeadlineSeconds} is too short for ${what}: needs >= ${needSeconds}s`);
    // DATA_DIR (raw/history) on a claim of its own: an emptyDir loses the bodies with the pod, and
    // the daemon's ReadWriteOnce spool would tie the Job to the daemon's node.
    const dataDir = env.DATA_DIR;
    const mount = (c.volumeMounts || []).find((m) => dataDir && (dataDir === m.mountPath || dataDir.startsWith(m.mountPath + "/")));
    const volume = (pod.volumes || []).find((v) => v.name === mount?.name);
    if (!volume) continue; // reported by the workload checks
    const claimName = volume.persistentVolumeClaim?.claimName;
    if (!claimName) {
      fail(`${where}: DATA_DIR ${dataDir} must be on a PersistentVolumeClaim (raw history bodies would be lost with the pod)`);
      continue;
    }
    const others = workloads.filter(([, t, o]) => o !== job && claimsOf(t.spec).includes(claimName)).map(([w]) => w);
    if (others.length) fail(`${where}: must not mount ${claimName}, the ReadWriteOnce claim of ${others.join(", ")}`);
    const pvc = docs.find((d) => d.kind === "PersistentVolumeClaim" && d.metadata.name === claimName);
    if (!pvc) {
      fail(`${where}: claim ${claimName} is not in the rendering`);
      continue;
    }
    const size = pvc.spec.resources?.requests?.storage;
    const needBytes = est.firstBytes + attempts * est.retryBytes;
    if (!size || quantityBytes(size) < needBytes)
      fail(`PersistentVolumeClaim/${claimName}: ${size} cannot hold one backfill with its retries (${Math.ceil(needBytes / 2 ** 20)} MiB of raw history)`);
    notes?.push(`${where}: ${what} -> needs >= ${needSeconds}s, activeDeadlineSeconds ${spec.activeDeadlineSeconds}; ` +
      `raw history ${Math.ceil(needBytes / 2 ** 20)} MiB with the retries, claim ${claimName} ${size}`);
  }
  return problems;
}

async function checkRendering(docs, opts) {
  const problems = [];
  for (const d of docs) {
    for (const p of await schemaProblems(d)) problems.push(`${d.kind}/${d.metadata?.name}: ${p}`);
  }
  return problems.concat(contractProblems(docs, opts));
}

function load(file) {
  const docs = [];
  for (const d of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    const js = d.toJS();
    if (js) docs.push(js);
  }
  return docs;
}

// Each mutation must make checkRendering report a problem containing `expect`.
const MUTATIONS = [
  ["liveness probe on /readyz", (ds) => (dep(ds).livenessProbe.httpGet.path = "/readyz"), "livenessProbe must GET /healthz"],
  ["readiness probe removed", (ds) => delete dep(ds).readinessProbe, "readinessProbe missing"],
  ["startup probe removed", (ds) => delete dep(ds).startupProbe, "startupProbe missing"],
  ["grace period 5s", (ds) => (podOf(ds).terminationGracePeriodSeconds = 5), "must exceed SHUTDOWN_TIMEOUT"],
  ["SHUTDOWN_TIMEOUT raised to 1m", (ds) => (cm(ds).data.SHUTDOWN_TIMEOUT = "1m"), "must exceed SHUTDOWN_TIMEOUT"],
  ["writable root filesystem", (ds) => (dep(ds).securityContext.readOnlyRootFilesystem = false), "readOnlyRootFilesystem"],
  ["capabilities kept", (ds) => (dep(ds).securityContext.capabilities.drop = []), "drop must include ALL"],
  ["runAsNonRoot off", (ds) => { podOf(ds).securityContext.runAsNonRoot = false; dep(ds).securityContext.runAsNonRoot = false; }, "runAsNonRoot"],
  ["replicas as text (schema)", (ds) => (ds.find((d) => d.kind === "Deployment").spec.replicas = "one"), "schema:"],
  ["container port as text (schema)", (ds) => (dep(ds).ports[0].containerPort = "http"), "schema:"],
  ["misspelt setting", (ds) => (cm(ds).data.POLL_INTERVALL = "30s"), "POLL_INTERVALL is not a coingecko-etl setting"],
  ["password in the ConfigMap", (ds) => (cm(ds).data.POSTGRES_PASSWORD = "x"), "POSTGRES_PASSWORD is a secret"],
  ["spool not mounted", (ds) => (dep(ds).volumeMounts = dep(ds).volumeMounts.filter((m) => m.name !== "spool")), "is not on a volume"],
  ["memory limit removed", (ds) => delete dep(ds).resources.limits.memory, "resources.limits.memory missing"],
  ["not-ready pods unscraped", (ds) => (ds.find((d) => d.kind === "Service").spec.publishNotReadyAddresses = false), "publishNotReadyAddresses"],
  ["NetworkPolicy admits another port", (ds) => (netpol(ds).spec.ingress[0].ports[0].port = 9090), "must admit ingress to the HTTP port"],
  ["NetworkPolicy restricts egress", (ds) => (netpol(ds).spec.policyTypes = ["Ingress", "Egress"]), "must not restrict Egress"],
  ["NetworkPolicy removed", (ds) => ds.splice(ds.indexOf(netpol(ds)), 1), "expected one NetworkPolicy"],
  ["daemon without seccomp", (ds) => { delete podOf(ds).securityContext.seccompProfile; }, "seccompProfile must be RuntimeDefault"],
  // The backfill Job (deploy/k8s/backfill): the Deployment's security rules, its command, its
  // secrets, its retry/lifetime bounds, its deadline and its own claim.
  ["backfill as root", (ds) => (bf(ds).securityContext.runAsUser = 0), "Job/coingecko-etl-backfill container backfill: runAsUser 0"],
  ["backfill runAsNonRoot off", (ds) => { bfPod(ds).securityContext.runAsNonRoot = false; bf(ds).securityContext.runAsNonRoot = false; }, "backfill: runAsNonRoot must be true"],
  ["backfill writable root filesystem", (ds) => (bf(ds).securityContext.readOnlyRootFilesystem = false), "backfill: readOnlyRootFilesystem"],
  ["backfill keeps capabilities", (ds) => (bf(ds).securityContext.capabilities.drop = ["NET_RAW"]), "backfill: capabilities.drop must include ALL"],
  ["backfill privilege escalation", (ds) => (bf(ds).securityContext.allowPrivilegeEscalation = true), "backfill: allowPrivilegeEscalation must be false"],
  ["backfill seccomp Unconfined", (ds) => (bfPod(ds).securityContext.seccompProfile.type = "Unconfined"), "backfill: seccompProfile must be RuntimeDefault"],
  ["backfill mounts the token", (ds) => (bfPod(ds).automountServiceAccountToken = true), "coingecko-etl-backfill: automountServiceAccountToken must be false"],
  ["backfill without resources", (ds) => delete bf(ds).resources, "backfill: resources.limits.memory missing"],
  ["backfill runs `run`", (ds) => (bf(ds).args = ["run"]), "the backfill Job must run backfill, not run"],
  ["backfill via command (no tini)", (ds) => { bf(ds).command = ["/usr/local/bin/coingecko-etl", "backfill"]; delete bf(ds).args; }, "command replaces the image's entrypoint"],
  ["backfill password literal", (ds) => bf(ds).env.push({ name: "POSTGRES_PASSWORD", value: "x" }), "backfill: secret POSTGRES_PASSWORD given as a literal value"],
  ["backfill DATABASE_URL from a ConfigMap", (ds) => bf(ds).env.push({ name: "DATABASE_URL", valueFrom: { configMapKeyRef: { name: "coingecko-etl", key: "url" } } }), "secret DATABASE_URL must come from a Secret"],
  ["backfill API key from a field", (ds) => bf(ds).env.push({ name: "COINGECKO_API_KEY", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }), "secret COINGECKO_API_KEY must come from a Secret"],
  ["backfill envFrom another ConfigMap", (ds) => bf(ds).envFrom.push({ configMapRef: { name: "backfill-settings" } }), "only the validated ConfigMap or a secretRef"],
  ["backfill key file outside the Secret", (ds) => bf(ds).env.push({ name: "COINGECKO_API_KEY_FILE", value: "/tmp/key" }), "COINGECKO_API_KEY_FILE=/tmp/key is not inside a mounted Secret"],
  ["backfill misspelt setting", (ds) => bf(ds).env.push({ name: "BACKFILL_COIN", value: "top:5" }), "env BACKFILL_COIN is not a coingecko-etl setting"],
  ["backfill without backoffLimit", (ds) => delete bfJob(ds).spec.backoffLimit, "backoffLimit must be set"],
  ["backfill without TTL", (ds) => delete bfJob(ds).spec.ttlSecondsAfterFinished, "ttlSecondsAfterFinished must be set"],
  ["backfill deadline 10 min", (ds) => (bfJob(ds).spec.activeDeadlineSeconds = 600), "activeDeadlineSeconds 600 is too short"],
  ["backfill top:250 x 3 currencies, same deadline", (ds) => { bfEnv(ds, "BACKFILL_COINS").value = "top:250"; bf(ds).args = ["backfill", "--vs", "usd,eur,btc"]; }, "activeDeadlineSeconds 7200 is too short"],
  ["backfill podFailurePolicy with OnFailure", (ds) => (bfPod(ds).restartPolicy = "OnFailure"), "podFailurePolicy needs restartPolicy Never"],
  ["backfill on an emptyDir", (ds) => (bfPod(ds).volumes.find((v) => v.name === "history").persistentVolumeClaim = undefined, bfPod(ds).volumes.find((v) => v.name === "history").emptyDir = {}), "must be on a PersistentVolumeClaim"],
  ["backfill on the daemon's spool", (ds) => (bfPod(ds).volumes.find((v) => v.name === "history").persistentVolumeClaim.claimName = "coingecko-etl-spool"), "must not mount coingecko-etl-spool"],
  ["backfill DATA_DIR not mounted", (ds) => (bf(ds).volumeMounts = bf(ds).volumeMounts.filter((m) => m.name !== "history")), "backfill: /var/lib/coingecko-etl is not on a volume"],
  ["history claim 10Mi", (ds) => (ds.find((d) => d.kind === "PersistentVolumeClaim" && d.metadata.name === "coingecko-etl-history").spec.resources.requests.storage = "10Mi"), "cannot hold one backfill"],
];
const podOf = (ds) => ds.find((d) => d.kind === "Deployment").spec.template.spec;
const dep = (ds) => podOf(ds).containers[0];
const cm = (ds) => ds.find((d) => d.kind === "ConfigMap");
const netpol = (ds) => ds.find((d) => d.kind === "NetworkPolicy");
const bfJob = (ds) => {
  const j = ds.find((d) => d.kind === "Job" && d.metadata.labels?.["app.kubernetes.io/component"] === "backfill");
  if (!j) throw new Error("no backfill Job in this rendering (self-test it together with deploy/k8s/backfill)");
  return j;
};
const bfPod = (ds) => bfJob(ds).spec.template.spec;
const bf = (ds) => bfPod(ds).containers[0];
const bfEnv = (ds, name) => bf(ds).env.find((e) => e.name === name);

async function selfTest(docs, opts) {
  let failures = 0;
  const baseline = await checkRendering(docs, opts);
  if (baseline.length) {
    console.log(`self-test: the unmodified rendering already fails (${baseline.length} problems)`);
    return 1;
  }
  for (const [name, mutate, expect] of MUTATIONS) {
    const copy = structuredClone(docs);
    try {
      mutate(copy);
    } catch (e) {
      console.log(`  FAIL self-test: ${name} -> cannot apply: ${e.message}`);
      failures++;
      continue;
    }
    const found = await checkRendering(copy, opts);
    const caught = found.some((p) => p.includes(expect));
    console.log(`  ${caught ? "ok  " : "FAIL"} self-test: ${name} -> ${caught ? "caught" : `not caught (got: ${found.join(" | ") || "nothing"})`}`);
    if (!caught) failures++;
  }
  return failures;
}

async function main() {
  const args = process.argv.slice(2);
  const opts = { knownVariables: null, measuredRssKiB: 0, expect: null };
  let selfTestWanted = false;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--env-example") opts.knownVariables = envExampleNames(args[++i]);
    else if (args[i] === "--measured-rss-kib") opts.measuredRssKiB = Number(args[++i]);
    else if (args[i] === "--expect") opts.expect = args[++i].split(",");
    else if (args[i] === "--self-test") selfTestWanted = true;
    else files.push(args[i]);
  }
  if (!opts.knownVariables || files.length === 0) {
    console.error("usage: node validate.mjs --env-example .env.example [--measured-rss-kib N] [--expect Kind[:command],...] [--self-test] FILE...");
    process.exit(2);
  }
  if (opts.knownVariables.size < 10) throw new Error("the .env.example variable list looks wrong");
  let bad = 0;
  for (const file of files) {
    const docs = load(file);
    // A Secret template is checked alone against its schema (it has no workloads).
    const templateOnly = docs.every((d) => d.kind === "Secret");
    const notes = [];
    const problems = templateOnly
      ? (await Promise.all(docs.map(schemaProblems))).flat()
      : await checkRendering(docs, { ...opts, notes });
    if (templateOnly) {
      for (const d of docs) {
        for (const [k, v] of Object.entries(d.stringData || {})) if (v) problems.push(`Secret template: ${k} has a value`);
        if (d.data && Object.keys(d.data).length) problems.push("Secret template: data must be empty");
      }
    }
    const kinds = docs.map((d) => d.kind).join(", ");
    if (problems.length) {
      bad++;
      console.log(`FAIL ${path.basename(file)} (${kinds})`);
      for (const p of problems) console.log(`     - ${p}`);
    } else {
      console.log(`ok   ${path.basename(file)}: ${docs.length} documents valid (${kinds})`);
    }
    for (const n of notes) console.log(`     . ${n}`);
    if (selfTestWanted && docs.some((d) => d.kind === "Deployment")) {
      const f = await selfTest(docs, { ...opts, expect: null });
      if (f) {
        bad++;
        console.log(`FAIL self-test: ${f} mutation(s) not caught`);
      }
    }
  }
  process.exit(bad ? 1 : 0);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
