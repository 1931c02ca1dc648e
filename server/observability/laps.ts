/** Timing a pipeline stage by stage, for the Server-Timing header. */

/** A stopwatch read in laps: each call returns the milliseconds since the previous call (or since it was made). */
export function lapTimer(): () => number {
  let mark = performance.now();
  return () => {
    const previous = mark;
    mark = performance.now();
    return mark - previous;
  };
}
