/**
 * The training CLI's command line: `--name value` flags, typed recipe options, and the usage
 * error every command throws for bad input (printed with the usage text, exit code 2).
 */
import type { OptionValue, RecipeOptions } from '../recipes/recipe.ts';

/** Usage error: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

const HARNESS_FLAGS = new Set([
  'epochs',
  'steps',
  'batch-size',
  'out',
  'resume',
  'seed',
  'backend',
  'checkpoint-every',
  'sample-every',
  'log-every',
  'progress',
]);

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string>;
}

/** `--name value` and `--name=value`; a flag followed by another flag (or nothing) is `true`. */
export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.set(body.slice(0, eq), body.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      flags.set(body, argv[i + 1]!);
      i += 1;
    } else {
      flags.set(body, 'true');
    }
  }
  return { positional, flags };
}

/**
 * The command's one positional argument (undefined when none). A second one is an error, not
 * ignored: `eval digits runs/x/export/digits` must not quietly evaluate models/digits.
 */
export function onlyPositional(args: ParsedArgs, what: string): string | undefined {
  const [first, extra] = args.positional;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}": give one ${what}`);
  return first;
}

export function integerFlag(flags: Map<string, string>, name: string, min: number): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

export function numberFlag(flags: Map<string, string>, name: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

const camelCase = (kebab: string) => kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebabCase = (camel: string) => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Recipe flags → typed recipe options; an unknown flag is a usage error listing the known ones. */
export function recipeOptionsFrom(flags: Map<string, string>, defaults: RecipeOptions): Partial<RecipeOptions> {
  const options: Record<string, OptionValue> = {};
  for (const [flag, raw] of flags) {
    if (HARNESS_FLAGS.has(flag)) continue;
    const key = camelCase(flag);
    const fallback = defaults[key];
    if (fallback === undefined) {
      const known = Object.keys(defaults).map((k) => `--${kebabCase(k)}`);
      throw new UsageError(`unknown option --${flag}; this recipe takes ${known.join(', ') || 'no options'}`);
    }
    if (typeof fallback === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
      options[key] = value;
    } else if (typeof fallback === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${flag} must be true or false, got "${raw}"`);
      options[key] = raw === 'true';
    } else {
      options[key] = raw;
    }
  }
  return options;
}
