/**
 * The API's answers to failures that happen before a route's handler, in Fastify or in Node's
 * HTTP parser: a body that is not JSON, over the limit or of another media type, a URL with a
 * malformed percent-encoding, headers larger than Node reads. Each gets the same
 * `{code, message, details}` body as every other error, so a client never has to parse a second
 * error shape.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** The largest request body accepted: 1 MiB, room for the CRD's 256 KiB prompt and the rest. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Maps a Fastify framework error to an ApiError, or undefined when it is not one. */
export function frameworkError(error: FastifyError): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        'PayloadTooLarge',
        `the request body is larger than the limit of ${BODY_LIMIT_BYTES} bytes (1 MiB); shorten the prompt or other fields`,
        { limitBytes: BODY_LIMIT_BYTES },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE':
      return new ApiError('UnsupportedMediaType', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(
        'InvalidRequest',
        'the body is empty; send a JSON object, or no Content-Type with no body',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('InvalidRequest', 'the body is not valid JSON');
    case 'FST_ERR_BAD_URL':
      return new ApiError(
        'InvalidRequest',
        'the URL path has a malformed percent-encoding; encode each reserved byte as %XX with two hex digits',
        { in: 'path' },
      );
    default:
      break;
  }
  if ((error as { type?: string }).type === 'entity.parse.failed' || error instanceof SyntaxError) {
    return new ApiError('InvalidRequest', 'the body is not valid JSON');
  }
  // Any other client error Fastify raises (its codes are FST_ERR_*): a 4xx with our body, never
  // an Internal error for what the caller sent.
  const status = error.statusCode ?? 0;
  if (typeof error.code === 'string' && error.code.startsWith('FST_ERR') && status >= 400 && status < 500) {
    return new ApiError('InvalidRequest', `the request is malformed: ${error.message}`);
  }
  return undefined;
}

/** Sends an ApiError as the response: its status and `{code, message, details}`. */
export function sendApiError(reply: FastifyReply, apiError: ApiError): FastifyReply {
  if (apiError.code === 'Unauthenticated') void reply.header('www-authenticate', 'Bearer realm="shepherd"');
  if (apiError.code === 'TooManyRequests') {
    const seconds = apiError.details.retryAfterSeconds;
    void reply.header('retry-after', typeof seconds === 'number' ? String(seconds) : '1');
  }
  void reply.code(apiError.statusCode).type('application/json; charset=utf-8');
  return reply.send({ code: apiError.code, message: apiError.message, details: apiError.details });
}

/**
 * Fastify's `frameworkErrors` option: failures in routing (a malformed URL) that happen before
 * any hook or error handler of the app runs.
 */
export function onFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void sendApiError(
    reply,
    frameworkError(error) ?? new ApiError('InvalidRequest', 'the request is malformed'),
  );
}

/**
 * Fastify's `clientErrorHandler` option: what Node's HTTP parser refuses (headers over its limit,
 * a request that is not HTTP), answered on the socket in the API's error shape and closed.
 */
export function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const apiError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError(
          'HeadersTooLarge',
          'the request line and headers are larger than the server reads (16 KiB); send a shorter URL or fewer headers',
        )
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? undefined
        : new ApiError('InvalidRequest', 'the request is not valid HTTP/1.1');
  if (socket.writable && apiError) {
    const body = JSON.stringify({
      code: apiError.code,
      message: apiError.message,
      details: apiError.details,
    });
    socket.write(
      `HTTP/1.1 ${apiError.statusCode} ${STATUS_CODES[apiError.statusCode] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
