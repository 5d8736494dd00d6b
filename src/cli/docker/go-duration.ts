export { parseGoDuration } from '../../util/go-duration.ts';
