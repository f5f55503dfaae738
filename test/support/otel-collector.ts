/**
 * A real OpenTelemetry Collector for a test (the pinned build from tools/otelcol): OTLP/HTTP on a
 * free loopback port, every span it receives written to a JSON-lines file the test reads back,
 * exactly as an operator's collector would receive what Shepherd exports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../src/processes/ports.js';
import { otelcolPath } from '../../src/processes/tools.js';
import { eventually } from './kube.js';

/** One span as the collector's file exporter writes it (OTLP JSON), with its service. */
export interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, string | number | boolean>;
}

/** A running collector. */
export interface OtelCollector {
  /** The OTLP endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Every span received so far. */
  spans(): CollectedSpan[];
  stop(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

const valueOf = (v: OtlpValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));
const attributesOf = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** Starts the collector and waits until it accepts requests. */
export async function startOtelCollector(): Promise<OtelCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-otelcol-'));
  const [port] = await freePorts(1);
  const spansFile = join(dir, 'spans.jsonl');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'receivers:',
      '  otlp:',
      '    protocols:',
      '      http:',
      `        endpoint: 127.0.0.1:${port}`,
      'exporters:',
      '  file:',
      `    path: ${spansFile}`,
      '    flush_interval: 100ms',
      'service:',
      '  telemetry:',
      '    metrics:',
      '      level: none',
      '  pipelines:',
      '    traces:',
      '      receivers: [otlp]',
      '      exporters: [file]',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(otelcolPath(), ['--config', `file:${config}`], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  await eventually(
    'the collector to listen',
    () =>
      fetch(`${endpoint}/v1/traces`, { method: 'GET' }).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status > 0,
    60_000,
  );
  return {
    endpoint,
    spans() {
      if (!existsSync(spansFile)) return [];
      return readFileSync(spansFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((line) => {
          const batch = JSON.parse(line) as {
            resourceSpans: {
              resource: { attributes: OtlpAttribute[] };
              scopeSpans: {
                spans: (Omit<CollectedSpan, 'attributes' | 'service'> & { attributes?: OtlpAttribute[] })[];
              }[];
            }[];
          };
          return batch.resourceSpans.flatMap((resource) => {
            const service = String(attributesOf(resource.resource.attributes)['service.name'] ?? '');
            return resource.scopeSpans.flatMap((scope) =>
              scope.spans.map((span) => ({
                ...span,
                parentSpanId: span.parentSpanId ?? '',
                service,
                attributes: attributesOf(span.attributes),
              })),
            );
          });
        });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
