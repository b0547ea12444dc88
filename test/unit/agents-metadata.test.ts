// OAuth discovery: the RFC 9728 document of an MCP endpoint, its path-insertion URL, and the Bearer challenge.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bearerChallenge, metadataUrl, resourceMetadata } from '../../src/agents/metadata.js';
import { JwtSchema } from '../../src/config/auth-schema.js';

const jwt = (over: Record<string, unknown> = {}) =>
  JwtSchema.parse({ issuer: 'https://id.example.com/', audience: 'gw', jwks_url: 'https://id.example.com/jwks', ...over });

describe('protected resource metadata', () => {
  test('names the endpoint as the resource and the issuer as the authorization server', () => {
    assert.deepEqual(resourceMetadata(jwt(), 'https://gw.example.com/mcp/fs'), {
      resource: 'https://gw.example.com/mcp/fs',
      authorization_servers: ['https://id.example.com/'],
      bearer_methods_supported: ['header'],
    });
  });

  test('configured authorization servers and scopes replace the defaults', () => {
    const doc = resourceMetadata(jwt({ authorization_servers: ['https://a.example.com', 'https://b.example.com'], scopes_supported: ['mcp'] }), 'http://127.0.0.1:8787/mcp/x');
    assert.deepEqual(doc?.authorization_servers, ['https://a.example.com', 'https://b.example.com']);
    assert.deepEqual(doc?.scopes_supported, ['mcp']);
  });

  test('without JWT settings there is no authorization server, so no document', () => {
    assert.equal(resourceMetadata(undefined, 'http://127.0.0.1:8787/mcp/x'), undefined);
  });

  test('the well-known segment goes between the origin and the whole path of the resource', () => {
    assert.equal(metadataUrl('http://127.0.0.1:8787/mcp/fs'), 'http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp/fs');
    assert.equal(metadataUrl('https://gw.example.com/team/mcp/fs/'), 'https://gw.example.com/.well-known/oauth-protected-resource/team/mcp/fs');
  });
});

describe('WWW-Authenticate challenge', () => {
  const url = 'http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp/fs';

  test('no credential: only where the metadata is', () => {
    assert.equal(bearerChallenge(url), `Bearer resource_metadata="${url}"`);
  });

  test('a refused credential: invalid_token, with a description that cannot break the quoting', () => {
    assert.equal(
      bearerChallenge(url, { code: 'invalid_token', description: 'the JWT\'s "sub" claim \\ is bad — ü' }),
      `Bearer resource_metadata="${url}", error="invalid_token", error_description="the JWT's 'sub' claim ' is bad ' '"`,
    );
  });
});
