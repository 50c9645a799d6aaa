// Every environment variable sdw-etl reads, read once, strictly: a bad value is one sentence a user can act on.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { parseEncryptionKeys, type EncryptionKeys } from './codec';
import { allowedFoldersFrom, type AllowedFolders } from './paths';
import { locales, type Locale } from './personalize';

/** The task queue of the workflows and their activities (SDW_TASK_QUEUE overrides it). */
export const defaultTaskQueue = 'sdw-etl';

/** A setting that cannot be used; its message is one sentence a user can act on. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LlmConfig {
  /** undefined with no base URL means OpenAI itself. */
  baseURL: string | undefined;
  apiKey: string;
  model: string;
}

export interface Config {
  temporal: {
    connection: NativeConnectionOptions & { address: string };
    namespace: string;
    taskQueue: string;
    webUiUrl: string;
  };
  /** The bank API's base URL, used when a run does not name one. */
  apiUrl: string;
  /** undefined when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set: messages come from offline templates. */
  llm: LlmConfig | undefined;
  locale: Locale;
  /** Where runs keep their per-customer results while they run, when no database is set. */
  dataDir: string;
  /** The PostgreSQL record store every worker and host shares (SDW_DATABASE_URL); undefined: files in dataDir. */
  databaseUrl: string | undefined;
  /** The LLM calls of every worker together (SDW_LLM_RPM: per minute), kept in the shared store; undefined: no cap. */
  llmQuota: { calls: number; windowMs: number } | undefined;
  /** Payload encryption keys; undefined means payloads are stored as plain JSON. */
  encryption: EncryptionKeys | undefined;
  /** The only folders a worker reads lists from and writes exports to (SDW_INPUT_DIRS, SDW_OUTPUT_DIR). */
  folders: AllowedFolders;
  /** How long a run's records are kept before the worker prunes them (SDW_RETENTION); undefined: kept until pruned. */
  retentionMs: number | undefined;
}

export const projectRoot = path.resolve(__dirname, '..');
const defaultTemporalAddress = '127.0.0.1:7233';
const defaultApiUrl = 'http://127.0.0.1:8080';
const defaultModel = 'gpt-4o-mini';

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function parseUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} must be an http(s) URL, got "${value}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${what} must be an http(s) URL, got "${value}".`);
  }
  return value.replace(/\/+$/, '');
}

/** A PostgreSQL connection URL; the error never repeats it, since it may hold a password. */
function parseDatabaseUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:'))
    throw new ConfigError('SDW_DATABASE_URL must be a postgres:// URL (postgres://user:password@host:5432/sdw_etl).');
  return value;
}

export function parsePositiveNumber(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`${what} must be a positive number, got "${value}".`);
  }
  return n;
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new ConfigError(`${what} must be a whole number of 1 or more, got "${value}".`);
  }
  return Number(value);
}

/** A quota of `calls` LLM calls a minute. */
export const perMinute = (calls: number): NonNullable<Config['llmQuota']> => ({ calls, windowMs: 60_000 });

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as 30s, 15m, 1h or 30d, in milliseconds; undefined when it is not one. */
export function durationMs(value: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  return match ? Number(match[1]) * durationUnits[match[2]!]! : undefined;
}

function parseDuration(value: string, what: string): number {
  const ms = durationMs(value);
  if (ms === undefined || ms === 0)
    throw new ConfigError(`${what} must be a duration such as 30d or 12h, got "${value}".`);
  return ms;
}

export function parseLocale(value: string, what = 'SDW_LOCALE'): Locale {
  const locale = locales.find((l) => l.toLowerCase() === value.toLowerCase());
  if (!locale) throw new ConfigError(`${what} must be one of ${locales.join(', ')}, got "${value}".`);
  return locale;
}

/** Reads `.env` from the working directory into process.env, without overriding what is already set. */
export function loadDotEnv(file = path.resolve('.env')): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Reads every environment variable sdw-etl uses, once, strictly. */
export function loadConfig(env: Env = process.env): Config {
  let temporal: ReturnType<typeof loadClientConnectConfig>;
  try {
    temporal = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    throw new ConfigError(`The Temporal connection settings could not be read: ${(err as Error).message}`);
  }
  const address = temporal.connectionOptions.address ?? defaultTemporalAddress;
  const openAiKey = text(env, 'OPENAI_API_KEY');
  const openAiBaseUrl = text(env, 'OPENAI_BASE_URL');
  const llmRpm = text(env, 'SDW_LLM_RPM');
  const encryptionKey = text(env, 'SDW_ETL_ENCRYPTION_KEY');
  const databaseUrl = text(env, 'SDW_DATABASE_URL');
  const retention = text(env, 'SDW_RETENTION');
  return {
    temporal: {
      connection: { ...temporal.connectionOptions, address },
      namespace: temporal.namespace ?? 'default',
      taskQueue: text(env, 'SDW_TASK_QUEUE') ?? defaultTaskQueue,
      webUiUrl: parseUrl(text(env, 'SDW_TEMPORAL_UI_URL') ?? 'http://127.0.0.1:8233', 'SDW_TEMPORAL_UI_URL'),
    },
    apiUrl: parseUrl(text(env, 'SDW_API_URL') ?? defaultApiUrl, 'SDW_API_URL'),
    llm:
      openAiKey === undefined && openAiBaseUrl === undefined
        ? undefined
        : {
            baseURL: openAiBaseUrl === undefined ? undefined : parseUrl(openAiBaseUrl, 'OPENAI_BASE_URL'),
            // Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) take any key.
            apiKey: openAiKey ?? 'no-key',
            model: text(env, 'OPENAI_MODEL') ?? defaultModel,
          },
    locale: parseLocale(text(env, 'SDW_LOCALE') ?? 'pt-BR'),
    dataDir: path.resolve(text(env, 'SDW_DATA_DIR') ?? path.join(projectRoot, '.data')),
    databaseUrl: databaseUrl === undefined ? undefined : parseDatabaseUrl(databaseUrl),
    llmQuota: llmRpm === undefined ? undefined : perMinute(parsePositiveInt(llmRpm, 'SDW_LLM_RPM')),
    encryption: encryptionKey === undefined ? undefined : parseEncryptionKeys(encryptionKey),
    folders: allowedFoldersFrom(text(env, 'SDW_INPUT_DIRS'), text(env, 'SDW_OUTPUT_DIR')),
    retentionMs: retention === undefined ? undefined : parseDuration(retention, 'SDW_RETENTION'),
  };
}

export interface TelemetryConfig {
  /** The port a worker serves Prometheus metrics on (SDW_METRICS_PORT); undefined: no metrics. */
  metricsPort: number | undefined;
  /** OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT), read by the exporter itself; undefined: no tracing. */
  otlpEndpoint: string | undefined;
  /** SDW_LOG_FORMAT: `text` (default) or `json`, one object a line. */
  logFormat: 'text' | 'json';
}

/** A TCP port, 1 to 65535. */
export function parsePort(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65535)
    throw new ConfigError(`${what} must be a port, 1 to 65535, got "${value}".`);
  return n;
}

/** Reads how a process shows itself to an operations team: metrics port, trace endpoint, log format. */
export function loadTelemetryConfig(env: Env = process.env): TelemetryConfig {
  const metricsPort = text(env, 'SDW_METRICS_PORT');
  const otlpEndpoint = text(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const logFormat = text(env, 'SDW_LOG_FORMAT') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json')
    throw new ConfigError(`SDW_LOG_FORMAT must be text or json, got "${logFormat}".`);
  return {
    metricsPort: metricsPort === undefined ? undefined : parsePort(metricsPort, 'SDW_METRICS_PORT'),
    otlpEndpoint: otlpEndpoint === undefined ? undefined : parseUrl(otlpEndpoint, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    logFormat,
  };
}
