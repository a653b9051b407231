// Kept apart from server.ts so `parley --version` and `parley chat` load no server code.
export const VERSION = "0.1.0";
