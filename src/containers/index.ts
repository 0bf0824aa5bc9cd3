export type { Container, StoredAny } from './types';
