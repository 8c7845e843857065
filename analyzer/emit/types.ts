/** The emitters read intents from the shared vocabulary in model/. */
export type * from '../../model/intents.js';
