// Contract C2, the overlay volume, is domain data and lives in src/core/volume/overlay.ts; it is re-exported here
// for the webviews and the wire protocols that carry it (src/shared imports core, never the reverse: issue 10).

export * from '../core/volume/overlay';
