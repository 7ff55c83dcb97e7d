export type { KafkaConnection } from './connection.ts';
export {
  kafkaSecurityConfig,
  KafkaSettingError,
  type KafkaSaslMechanism,
  type KafkaSecurity,
} from './security.ts';
export { TopicsEnvShape, topicsConfig, type TopicsConfig, type TopicSpec } from './topics.ts';
export {
  deleteTopics,
  describeCluster,
  ensureTopics,
  groupCoordinator,
  listTopics,
  partitionLeaders,
  topicId,
  topicOffsets,
  topicPartitions,
} from './admin.ts';
export { createProducer, type KafkaProducer, type OutgoingMessage, type ProducerOptions } from './producer.ts';
export {
  createGroupConsumer,
  type BatchControl,
  type ConsumedMessage,
  type GroupConsumer,
  type GroupConsumerEvents,
  type GroupConsumerOptions,
  type PartitionBatch,
} from './consumer.ts';
export { readTopic } from './read.ts';
export {
  classifyKafkaError,
  KafkaAuthenticationError,
  KafkaAuthorizationError,
  KafkaError,
  KafkaTlsError,
  KafkaInvalidRequestError,
  KafkaMessageTooLargeError,
  KafkaPermanentError,
  KafkaRetryableError,
  KafkaTimeoutError,
} from './errors.ts';
