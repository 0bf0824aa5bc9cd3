export type { Image, ImageInput, ImageStore } from './types';
