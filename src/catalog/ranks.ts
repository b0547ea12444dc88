// Category ranks of the risk classifier: a higher rank is more dangerous and wins (Financial > Destructive > Execute > Write > Read).
export const READ = 0;
export const WRITE = 1;
export const EXECUTE = 2;
export const DESTRUCTIVE = 3;
export const FINANCIAL = 4;
