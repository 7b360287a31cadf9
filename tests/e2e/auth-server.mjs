// Better Auth as a front end's own server runs it: email and password accounts, the jwt() plugin
// (EdDSA tokens, JWKS at /api/auth/jwks), SQLite storage. tasks-api trusts its tokens through
// BETTER_AUTH_URL. The page is on another origin, so this server answers CORS for that origin,
// with credentials: the session lives in Better Auth's cookie.
import http from "node:http";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

const { AUTH_PORT, AUTH_SECRET, AUTH_DATABASE, PAGE_ORIGIN } = process.env;
const baseURL = `http://127.0.0.1:${AUTH_PORT}`;

const auth = betterAuth({
  baseURL,
  secret: AUTH_SECRET,
  database: new Database(AUTH_DATABASE),
  emailAndPassword: { enabled: true },
  trustedOrigins: [PAGE_ORIGIN],
  plugins: [jwt()],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handleAuth = toNodeHandler(auth);
http
  .createServer((request, response) => {
    response.setHeader("Access-Control-Allow-Origin", PAGE_ORIGIN);
    response.setHeader("Access-Control-Allow-Credentials", "true");
    response.setHeader("Vary", "Origin");
    if (request.method === "OPTIONS") {
      response.setHeader("Access-Control-Allow-Methods", "GET, POST");
      response.setHeader("Access-Control-Allow-Headers", "Content-Type");
      response.writeHead(204).end();
      return;
    }
    handleAuth(request, response);
  })
  .listen(Number(AUTH_PORT), "127.0.0.1", () => console.log(`Better Auth on ${baseURL}`));
