# The runner image: the container of every session's Job (src/runtime/kubernetes/builders/session-job.ts).
# Its entrypoint is the runner (src/runner/main.ts); the Job's `clone` step runs `sh -c <script>`
# in the same image, so it needs git and a shell. It holds:
#   - node 20 and git (plus tini, so the agents' orphaned children are reaped and SIGTERM reaches
#     the runner, which is not PID 1);
#   - the agent CLIs: Claude Code (`claude`) and OpenCode (`opencode`); pin them with the build
#     arguments for reproducible images;
#   - the runner, bundled into one file by esbuild (a devDependency), so the
#     image needs none of the worker's dependencies.
# It runs as uid/gid 1000, the user the Job's `restricted` security context asks for.
#
# Build and use:
#   docker build -t registry.example.com/shepherd/runner:dev \
#     --build-arg CLAUDE_CODE_VERSION=<version> --build-arg OPENCODE_VERSION=<version> .
#   then set the AgentConfig's `defaultImage` (or a session's `spec.image`) to that tag.
# Try it without a cluster (the workspace must already hold the clones):
#   docker run --rm -v "$PWD/ws:/workspace" -e SHEPHERD_AGENT=command \
#     -e SHEPHERD_COMMAND='["sh","-c","date > NOW.md"]' -e SHEPHERD_WORKSPACE=/workspace \
#     -e SHEPHERD_REPOS='[{"url":"…","dir":"/workspace/repo","outputBranch":"shepherd/try","autoPush":false}]' \
#     registry.example.com/shepherd/runner:dev

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run -s build:runner -- dist/shepherd-runner.mjs

FROM node:20-slim
ARG CLAUDE_CODE_VERSION=latest
ARG OPENCODE_VERSION=latest
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-audit --no-fund \
      "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" "opencode-ai@${OPENCODE_VERSION}" \
 && npm cache clean --force
COPY --from=build /src/dist/shepherd-runner.mjs /opt/shepherd/runner.mjs
ENV HOME=/workspace/.home
WORKDIR /workspace
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/shepherd/runner.mjs"]
