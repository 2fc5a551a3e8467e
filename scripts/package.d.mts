/** The dev variant's task id for a production task id (UUID v5 in a fixed namespace). */
export function devTaskId(prodId: string): string;
/** RFC 4122 version-5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace: string): string;
