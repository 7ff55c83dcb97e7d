export { createKafka, ensureTopics, type KafkaClientConfig } from './client.ts';
