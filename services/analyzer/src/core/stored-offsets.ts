/** The events topic as Kafka has it now: its ID and each partition's end (the next offset to be written). */
export interface TopicNow {
  id: string;
  ends: readonly number[];
}

/**
 * The highest offset of a partition already stored for the topic now, from the highest stored with its
 * ID (`mine`) and with none (`unknown`: rows stored before 0013; -1 for none). Rows of another ID belong
 * to an earlier topic of the same name and count for nothing. Rows without an ID count when they are
 * below the partition's end, as the same topic's must be (the case after an upgrade); at or above it
 * they cannot be this topic's. (Left unknown: an earlier topic's rows below the end, when the topic was
 * created again and grew past them before the first restore after the upgrade.)
 */
export function storedOffsetOfTopic(stored: { mine: number; unknown: number }, end: number): number {
  return Math.max(stored.mine, stored.unknown < end ? stored.unknown : -1);
}
