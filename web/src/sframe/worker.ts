//! The entry point of the SFrame worker, bundled on its own as `/assets/sframe-worker.js`. The page
//! starts it with `new Worker("/assets/sframe-worker.js")` and hands it to `SFrameMedia`.
//!
//! It only wires the worker's global scope to `serveSFrameWorker`; everything else is there.

import { type SFrameWorkerScope, serveSFrameWorker } from "./transform";

// The global scope of a dedicated worker has both `message` and `rtctransform` events; TypeScript's
// DOM types (this project compiles against DOM, not WebWorker) know neither shape.
serveSFrameWorker(globalThis as unknown as SFrameWorkerScope);
