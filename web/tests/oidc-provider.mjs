// A real OpenID Provider for the tests: the `oidc-provider` package (a certified implementation)
// served over HTTPS with a self-signed certificate this script writes, with test users for staff
// single sign-on and for a customer e-ID broker.
//
// Usage: node tests/oidc-provider.mjs DIR   (DIR receives cert.pem; the script prints
// `oidc-provider listening at https://localhost:PORT` once it serves)
//
// Clients:  trygg-staff / staff-secret (scopes openid email profile groups)
//           trygg-eid   / eid-secret   (scopes openid profile eid)
// Users (password `test-password` for all), with what the provider asserts about them:
//   ada      ada.admin@example.se   groups [trygg-admins]            amr [pwd, otp]
//   dag      dag.dahl@example.se    groups [trygg-advisers, lunch]   amr [pwd, hwk]
//   bo       bo.berg@example.se     groups [trygg-advisers]          amr [pwd]        (no MFA)
//   eve      eve.okand@example.se   groups [trygg-admins]            amr [mfa]        (no account)
//   karin    Karin Kund, 198112289874, acr loa3 (the e-ID level Trygg counts as MFA)
//   kalle    Kalle Kund, 197010632391, acr loa2 (too weak)
//
// Redirect URIs: any https://localhost:PORT or https://127.0.0.1:PORT Trygg callback, since the
// server under test listens on a port chosen at run time. This leniency is for tests only.
//
// Test knob: `POST /test/next-id-token` with a JSON object changes the claims of the next ID
// token the token endpoint issues (`{"aud": "other"}`, `{"nonce": "x"}`, `{"iss": "..."}`,
// `{"exp_offset_secs": -3600}`, `{"azp": "other"}`, `{"foreign_key": true}` to sign it with a
// key the provider never published), so the tests can check that Trygg refuses such tokens.

import { createServer } from "node:https";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Provider from "oidc-provider";
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK } from "jose";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node tests/oidc-provider.mjs DIR");
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
execFileSync("openssl", [
  "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
  "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=localhost",
  "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  "-addext", "basicConstraints=critical,CA:FALSE",
], { stdio: "ignore" });

const PASSWORD = "test-password";
const USERS = {
  ada: { email: "ada.admin@example.se", email_verified: true, name: "Ada Admin", groups: ["trygg-admins"], amr: ["pwd", "otp"] },
  dag: { email: "dag.dahl@example.se", email_verified: true, name: "Dag Dahl", groups: ["trygg-advisers", "lunch"], amr: ["pwd", "hwk"] },
  bo: { email: "bo.berg@example.se", email_verified: true, name: "Bo Berg", groups: ["trygg-advisers"], amr: ["pwd"] },
  eve: { email: "eve.okand@example.se", email_verified: true, name: "Eve Okänd", groups: ["trygg-admins"], amr: ["mfa"] },
  karin: { name: "Karin Kund", personal_identity_number: "198112289874", amr: ["pwd"], acr: "loa3" },
  kalle: { name: "Kalle Kund", personal_identity_number: "197010632391", amr: ["pwd"], acr: "loa2" },
};

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
const { privateKey: foreignKey } = await generateKeyPair("RS256", { extractable: true });

const port = await new Promise((resolve) => {
  const probe = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const issuer = `https://localhost:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "trygg-staff",
      client_secret: "staff-secret",
      redirect_uris: ["https://localhost/api/v1/sso/staff/callback"],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      scope: "openid email profile groups",
    },
    {
      client_id: "trygg-eid",
      client_secret: "eid-secret",
      redirect_uris: ["https://localhost/api/v1/sso/customer/callback"],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      scope: "openid profile eid",
    },
  ],
  jwks: { keys: [signingJwk] },
  scopes: ["openid", "email", "profile", "groups", "eid"],
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
    // As most providers do, say how the person signed in with every ID token.
    openid: ["sub", "acr", "amr"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
    eid: ["personal_identity_number"],
  },
  acrValues: ["loa2", "loa3"],
  // Put the scopes' claims into the ID token: Trygg reads only the ID token.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: ["test-cookie-key-not-secret"] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = USERS[sub];
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        const { amr, acr, ...claims } = user;
        return { sub, ...claims };
      },
    };
  },
});
provider.proxy = false;

// Test-only leniency: the server under test picks its port at run time.
const callback = /^https:\/\/(localhost|127\.0\.0\.1):\d+\/api\/v1\/sso\/(staff|customer)\/callback$/;
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
  const kind = this.clientId === "trygg-staff" ? "staff" : "customer";
  const match = callback.exec(value);
  return Boolean(match) && match[2] === kind;
};

// The test knob: rewrite the next ID token the token endpoint hands out.
let nextTamper = null;
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== "/token" || ctx.status !== 200 || !nextTamper || !ctx.body?.id_token) return;
  const tamper = nextTamper;
  nextTamper = null;
  const claims = decodeJwt(ctx.body.id_token);
  for (const key of ["aud", "iss", "nonce", "azp"]) {
    if (key in tamper) claims[key] = tamper[key];
  }
  if (tamper.exp_offset_secs) {
    claims.exp += tamper.exp_offset_secs;
    claims.iat += tamper.exp_offset_secs;
  }
  const key = tamper.foreign_key ? foreignKey : await importJWK(signingJwk, "RS256");
  ctx.body = {
    ...ctx.body,
    id_token: await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "test-key-1" }).sign(key),
  };
});

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

async function readForm(req) {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) break;
  }
  return new URLSearchParams(text);
}

async function interaction(req, res) {
  const url = new URL(req.url, issuer);
  const [, , uid, action] = url.pathname.split("/");
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  if (req.method === "GET") {
    const error = url.searchParams.get("error") ? "<p role=alert>Wrong user name or password.</p>" : "";
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page("Sign in at the test provider", `<h1>Test identity provider</h1>${error}
      <form method="post" action="/interaction/${uid}/login">
        <label>User name <input name="login" autocomplete="username"></label>
        <label>Password <input name="password" type="password" autocomplete="current-password"></label>
        <button type="submit">Sign in</button>
      </form>`));
    return;
  }
  if (req.method === "POST" && action === "login") {
    const form = await readForm(req);
    const login = form.get("login") ?? "";
    const user = Object.hasOwn(USERS, login) ? USERS[login] : undefined;
    if (!user || form.get("password") !== PASSWORD) {
      res.writeHead(303, { location: `/interaction/${uid}?error=1` });
      res.end();
      return;
    }
    // First-party clients: consent is given with the sign-in.
    const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, {
      login: { accountId: login, amr: user.amr, ...(user.acr ? { acr: user.acr } : {}), remember: false },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(405);
  res.end();
}

async function testKnob(req, res) {
  let text = "";
  for await (const chunk of req) text += chunk;
  nextTamper = JSON.parse(text || "{}");
  res.writeHead(204);
  res.end();
}

const handleProvider = provider.callback();
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const path = req.url.split("?")[0];
  const done = (error) => {
    console.error(`oidc-provider test server: ${error?.message ?? error}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  };
  if (path === "/favicon.ico") {
    res.writeHead(204);
    res.end();
  } else if (path.startsWith("/interaction/")) interaction(req, res).catch(done);
  else if (path === "/test/next-id-token" && req.method === "POST") testKnob(req, res).catch(done);
  else handleProvider(req, res);
});
server.listen(port, "127.0.0.1", () => {
  writeFileSync(join(dir, "issuer"), issuer);
  console.log(`oidc-provider listening at ${issuer}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
