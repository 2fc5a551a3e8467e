import { strict as assert } from 'node:assert';
import { isLoopbackHost, isSecureOrLoopback } from '../../tasks/core/net';

describe('isLoopbackHost / isSecureOrLoopback: where plain HTTP and credentials may go', () => {
  it('accepts 127.0.0.0/8, localhost and ::1, with or without port and brackets, in any case', () => {
    for (const host of ['127.0.0.1', '127.1.2.3:5000', 'localhost', 'LocalHost:8080', '::1', '[::1]', '[::1]:5000']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  it('treats IPv4-mapped IPv6 loopback like 127.0.0.1, in every spelling a URL may give it', () => {
    for (const host of ['[::ffff:127.0.0.1]:5000', '::ffff:127.0.0.1', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:7f00:1]:80', '[::ffff:127.9.8.7]', '[0:0:0:0:0:0:0:1]:5000']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    assert.equal(isSecureOrLoopback(new URL('http://[::ffff:127.0.0.1]:5000/v2/')), true, 'URL normalises it to [::ffff:7f00:1]');
  });

  it('refuses look-alikes and other hosts', () => {
    for (const host of ['127.0.0.1.evil.example', 'localhost.evil.example', '128.0.0.1', '10.0.0.1:5000', '[::2]', 'example.com', '',
      '[::ffff:10.0.0.1]', '[::ffff:128.0.0.1]:5000', '[::127.0.0.1]', '::ffff:127.0.0.1.evil.example']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  it('allows https anywhere and http only to this machine', () => {
    assert.equal(isSecureOrLoopback(new URL('https://login.microsoftonline.com/t')), true);
    assert.equal(isSecureOrLoopback(new URL('http://127.0.0.1:9000/x')), true);
    assert.equal(isSecureOrLoopback(new URL('http://[::1]:9000/x')), true);
    assert.equal(isSecureOrLoopback(new URL('http://mirror.example/helm')), false);
    assert.equal(isSecureOrLoopback(new URL('ftp://127.0.0.1/x')), false);
  });
});
