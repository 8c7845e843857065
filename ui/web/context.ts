import type { Core } from 'cytoscape';
import type { Meta } from './api-types.js';
import type { ViewState } from './state.js';

/** What views and panels may ask of the app shell. */
export interface AppContext {
  state(): ViewState;
  /** Change the view state; `push` adds a history entry (clicks), otherwise it replaces the current one (typing). */
  navigate(patch: Partial<ViewState>, push?: boolean): void;
  cy(): Core | undefined;
  meta(): Meta;
  progress: Progress;
  toast(message: string, kind?: 'info' | 'error'): void;
}

/** A long operation, shown with its name (and a fraction when it has one). */
export interface Progress {
  run<T>(label: string, work: (update: (fraction: number | undefined, label?: string) => void) => Promise<T>): Promise<T>;
}
