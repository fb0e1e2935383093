/**
 * The recorded workflow histories the replay test replays (docs/versioning.md):
 *
 *   test/replay/histories/<release>/<workflowType>[--<label>].json
 *
 * `current` holds the histories of the code on this branch (re-recorded with every workflow change
 * before 1.0); each released version keeps its own directory, frozen, for as long as that release is
 * supported. Each file is `{ workflowId, workflowType, history }`, the history in Temporal's JSON form
 * (what `temporal workflow show --output json` prints), so one can be taken from a real installation too.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import * as workflows from '../../workflows';

export const HISTORIES_DIR = path.join(__dirname, 'histories');
/** The release whose histories this branch re-records; a released version gets a directory of its own. */
export const CURRENT_RELEASE = 'current';

type History = ReturnType<typeof historyFromJSON>;

export interface SavedHistory {
  release: string;
  /** The file name without .json. */
  name: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

interface SavedFile {
  workflowId: string;
  workflowType: string;
  history: unknown;
}

/** Every workflow type the worker registers: the functions workflows/index.ts exports. */
export function registeredWorkflowTypes(): string[] {
  return Object.entries(workflows)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name)
    .sort();
}

export async function savedReleases(): Promise<string[]> {
  if (!existsSync(HISTORIES_DIR)) return [];
  const entries = await readdir(HISTORIES_DIR, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

function parseSaved(file: string, json: unknown): SavedFile {
  const saved = json as Partial<SavedFile>;
  if (typeof saved.workflowId !== 'string' || typeof saved.workflowType !== 'string' || !saved.history)
    throw new Error(`${file}: not a saved history ({ workflowId, workflowType, history })`);
  return saved as SavedFile;
}

export async function loadSavedHistories(release: string): Promise<SavedHistory[]> {
  const dir = path.join(HISTORIES_DIR, release);
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const full = path.join(dir, file);
      const saved = parseSaved(full, JSON.parse(await readFile(full, 'utf8')));
      return {
        release,
        name: path.basename(file, '.json'),
        workflowId: saved.workflowId,
        workflowType: saved.workflowType,
        history: historyFromJSON(saved.history),
      };
    }),
  );
}

/** Writes one history (already in Temporal's JSON form) as `<dir>/<name>.json`. */
export async function writeSavedHistory(
  dir: string,
  name: string,
  saved: { workflowId: string; workflowType: string; historyJson: string },
): Promise<void> {
  const file: SavedFile = {
    workflowId: saved.workflowId,
    workflowType: saved.workflowType,
    history: JSON.parse(saved.historyJson) as unknown,
  };
  await writeFile(path.join(dir, `${name}.json`), `${JSON.stringify(file, null, 2)}\n`);
}
